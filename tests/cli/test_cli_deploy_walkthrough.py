"""The "Deploy a model" walk-through (docs/guide/lifecycle.md, and the README's section
of that name once it has one) runs from top to bottom in bash against
``odsc-llm serve-local``, with the ``export`` lines the emulator prints."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import ROOT, TIMEOUT, cli_env

#: The walk-through's bound: a dozen commands, each a fresh interpreter (slow machine).
WALKTHROUGH_TIMEOUT = 240
HEADING = re.compile(r"^#+ Deploy a model\s*$", re.M)


def _section_blocks(page: Path) -> list[str]:
    """The bash blocks of the page's "Deploy a model" section (empty if it has none)."""
    text = page.read_text("utf-8")
    match = HEADING.search(text)
    if match is None:
        return []
    level = match.group(0).split()[0]
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{len(level)}}} ", rest, re.M)
    section = rest[: end.start()] if end else rest
    return re.findall(r"^```bash\n(.*?)^```", section, re.M | re.S)


def _pages() -> list[Path]:
    pages = [ROOT / "docs" / "guide" / "lifecycle.md"]
    if _section_blocks(ROOT / "README.md"):
        pages.append(ROOT / "README.md")
    return pages


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``odsc-llm serve-local`` running, and the variables its banner says to export."""
    config_dir = tmp_path_factory.mktemp("serve")
    proc = subprocess.Popen(
        [sys.executable, "-m", "odsc_llm", "serve-local", "--port", "0",
         "--config-dir", str(config_dir)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=cli_env(), cwd=ROOT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        seen = b""
        deadline = time.monotonic() + TIMEOUT
        while b"Press Ctrl-C" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.1)
            if ready:
                data = os.read(proc.stdout.fileno(), 65536)
                if not data:
                    break
                seen += data
        banner = seen.decode()
        assert "Press Ctrl-C" in banner, banner
        found: dict[str, str] = {}
        for line in banner.splitlines():
            words = line.split()
            if words[:1] == ["export"]:
                found.update(word.split("=", 1) for word in words[1:])  # type: ignore[misc]
        yield found
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_the_deploy_walkthrough_runs_against_serve_local(
    page: Path, exports: dict[str, str], tmp_path: Path
) -> None:
    blocks = _section_blocks(page)
    assert blocks, f"{page} has no bash block under 'Deploy a model'"
    for name in ("OCI_CONFIG_FILE", "ODSC_LLM_CONTROL_PLANE_ENDPOINT", "MODEL_OCID",
                 "NB_SESSION_COMPARTMENT_OCID", "PROJECT_OCID", "OCI_REGION"):  # fmt: skip
        assert name in exports, f"serve-local's banner exports no {name}"
    # `odsc-llm` is this interpreter's module (the console script may be another install).
    script = f'odsc-llm() {{ "{sys.executable}" -m odsc_llm "$@"; }}\n' + "\n".join(blocks)
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        capture_output=True, text=True, timeout=WALKTHROUGH_TIMEOUT,
        env=cli_env(**exports), cwd=tmp_path, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    lines = result.stdout.splitlines()
    assert any(line.startswith("odsc-vllm-serving") for line in lines)
    assert any(line.endswith(" ACTIVE") for line in lines)
    assert "You said: Hello!" in result.stdout
    assert lines[-1].endswith(" DELETED"), result.stdout
