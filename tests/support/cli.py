"""What the CLI tests share: running ``python -m odsc_llm`` in a bounded subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OCID = "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaaexample"
URL = f"https://modeldeployment.us-ashburn-1.oci.customer-oci.com/{OCID}"
TIMEOUT = 30  # bound of every subprocess, in seconds


def cli_env(**extra: str) -> dict[str, str]:
    """The environment without ODSC_LLM_*/OCI_* variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ODSC_LLM_", "OCI_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_cli(
    *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m odsc_llm ARGS`` in a subprocess, bounded by TIMEOUT."""
    return subprocess.run(
        [sys.executable, "-m", "odsc_llm", *args],
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env if env is not None else cli_env(),
        cwd=ROOT,
    )


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` in a subprocess with :func:`cli_env`, bounded by TIMEOUT."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=cli_env(),
        cwd=ROOT,
    )
