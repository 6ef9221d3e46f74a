"""Small CLI gaps of issue 21: a reader that goes away, typos in options, empty prompts,
``shapes --json``, and ``logs --since`` beyond what one search can span.

Real subprocesses (``python -m odsc_llm``), against the ``odsc_llm_local`` emulator
where a deployment is needed.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.cli_support import ROOT, TIMEOUT, cli_env, run_cli

if TYPE_CHECKING:
    from odsc_llm.testing import LocalDeployment

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")


@pytest.fixture
def config(odsc_llm_local: LocalDeployment, tmp_path: Path) -> str:
    return str(odsc_llm_local.write_oci_config(tmp_path / "oci"))


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# --------------------------------------------------------- a reader that goes away


def _into_a_closed_pipe(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    """``argv`` with stdout a pipe whose reader is already gone: every write is EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "odsc_llm", *argv],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
            env=cli_env(),
            cwd=ROOT,
        )
    finally:
        os.close(write_end)


@posix_only
@pytest.mark.parametrize(
    "command",
    [
        ("shapes",),
        ("info", "--local-only"),
        ("info",),
        ("logs",),
        ("complete", "hello"),
        ("complete", "hello", "--no-stream"),
        ("chat", "hello", "--json"),
        ("embed", "a", "b"),
    ],
)
def test_a_reader_gone_before_the_first_write_is_exit_0(
    odsc_llm_local: LocalDeployment, config: str, command: tuple[str, ...]
) -> None:
    name, *rest = command
    odsc_llm_local.add_log_line("INFO one record to print")
    argv = [name] if name == "shapes" else [name, odsc_llm_local.url, *rest, "-v"]
    if name != "shapes":
        argv += ["--config-file", config]
    result = _into_a_closed_pipe(argv)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "Traceback" not in stderr and "error" not in stderr


@posix_only
@pytest.mark.parametrize(
    ("command", "reader"),
    [
        (("complete", "PROMPT"), "head -c 10"),
        (("info", "--local-only"), "head -n 1"),
        (("logs",), "head -n 1"),
    ],
)
def test_head_ends_the_command_with_exit_0_every_time(
    odsc_llm_local: LocalDeployment, config: str, command: tuple[str, ...], reader: str
) -> None:
    odsc_llm_local.token_delay = 0.005
    for i in range(30):
        odsc_llm_local.add_log_line(f"INFO record {i}")
    prompt = " ".join(f"word{i}" for i in range(300))
    name, *rest = command
    args = [prompt if word == "PROMPT" else word for word in rest]
    argv = [sys.executable, "-m", "odsc_llm", name, odsc_llm_local.url, *args]
    pipeline = f"{shlex.join([*argv, '--config-file', config])} | {reader} >/dev/null"
    script = f"for i in 1 2 3; do {pipeline}; echo ${{PIPESTATUS[0]}}; done"
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, timeout=3 * TIMEOUT, env=cli_env(), cwd=ROOT
    )
    assert result.stdout.split() == [b"0", b"0", b"0"], result.stderr.decode()
    assert result.stderr == b""


def test_help_says_a_reader_going_away_is_exit_0() -> None:
    text = " ".join(run_cli("--help").stdout.split())
    assert "a reader that goes away (| head) is 0" in text
