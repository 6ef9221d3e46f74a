"""Every example in examples/ runs: against the emulator (--local / ODSC_LLM_LOCAL=1), and
the two credential examples also the way a user runs them after `odsc-llm serve-local`
(OCI_CONFIG_FILE and ODSC_LLM_DEPLOYMENT exported, no --local)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from odsc_llm.testing import LocalDeployment

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py"))
#: What each example needs beyond the dev extra (skipped, with the reason, without it).
NEEDS = {"ray_batch.py": "ray"}
#: What each example's output shows when it worked (default: the emulator's answer).
EXPECT = {"batch_job.py": " ok, 0 failed"}


def _run(example: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / example), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def test_every_example_is_listed() -> None:
    assert len(EXAMPLES) >= 7 and "quickstart.py" in EXAMPLES


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_runs_against_the_emulator(example: str) -> None:
    module = NEEDS.get(example)
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{example} needs {module}: pip install 'odsc-llm[{module}]'")
    result = _run(example, {"ODSC_LLM_LOCAL": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert EXPECT.get(example, "You said:") in result.stdout, result.stdout[-2000:]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("example", "profile"),
    [("completion_api_key.py", "DEFAULT"), ("stream_security_token.py", "SESSION")],
)
def test_credential_examples_after_serve_local_exports(
    odsc_llm_local_session: LocalDeployment, tmp_path: Path, example: str, profile: str
) -> None:
    config = odsc_llm_local_session.write_oci_config(tmp_path)
    env = {
        "OCI_CONFIG_FILE": str(config),
        "OCI_CLI_PROFILE": profile,
        "ODSC_LLM_DEPLOYMENT": odsc_llm_local_session.url,
    }
    env_without_local = {k: v for k, v in os.environ.items() if k != "ODSC_LLM_LOCAL"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / example)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env_without_local, **env},
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "You said:" in result.stdout
    sent = [r for r in odsc_llm_local_session.requests if r.status == 200]
    assert sent, "the example's requests reached the emulator and verified"
