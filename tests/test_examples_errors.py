"""The examples handle ordinary mistakes like the CLI does (issue 21, point 9): one line
that says the fix, exit 2 for a usage mistake, 1 for a missing dependency, 130 on
Ctrl-C (with the resume hint on a line of its own); never a traceback.

Real subprocesses; the Ctrl-C test runs ``batch_job.py`` against the emulator it starts.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import ROOT, TIMEOUT

EXAMPLES = ROOT / "examples"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ODSC_LLM_", "OCI_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("missing.txt", "--deployment", "x"), ["missing.txt", "No such file"]),
        (("--local", "--concurrency", "abc"), ["--concurrency", "'abc'", "auto"]),
        (("--local", "--concurrency", "0"), ["--concurrency", ">= 1"]),
        (("--local", "--max-retries", "-1"), ["--max-retries", ">= 0"]),
        (("--local", "--rate-limit", "0"), ["--rate-limit", "> 0"]),
        (("empty.txt", "--deployment", "x"), ["empty.txt", "no prompts"]),
        (("prompts.txt", "--deployment", "not-a-url"), ["not-a-url", "deployment URL"]),
        (("prompts.txt",), ["--deployment"]),
    ],
)
def test_batch_job_usage_mistakes_are_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], expected: list[str]
) -> None:
    (tmp_path / "empty.txt").write_text("\n \n")
    (tmp_path / "prompts.txt").write_text("one\ntwo\n")
    result = _run(str(EXAMPLES / "batch_job.py"), *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert line.startswith("batch_job.py: error: ")
    for text in expected:
        assert text in line


def test_ray_batch_without_ray_says_what_to_install() -> None:
    # Ray may be installed here (CI installs it): hide it, then run the example as a script.
    code = (
        "import runpy, sys\n"
        "sys.modules['ray'] = None  # 'import ray' now fails as if it were not installed\n"
        f"sys.argv = [{str(EXAMPLES / 'ray_batch.py')!r}, '--local']\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')\n"
    )
    result = _run("-c", code)
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert "pip install 'odsc-llm[ray]'" in line


@pytest.mark.parametrize("args", [("--workers", "0"), ("--count", "x")])
def test_ray_batch_usage_mistakes_are_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    result = _run(str(EXAMPLES / "ray_batch.py"), "--local", *args)
    assert result.returncode == 2
    assert args[0] in _one_line(result.stderr)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_batch_job_ctrl_c_is_exit_130_with_the_resume_hint_on_its_own_line(
    tmp_path: Path,
) -> None:
    done = tmp_path / "done.jsonl"
    argv = ["--local", "--throttled", "--count", "3000", "--resume", str(done)]
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "batch_job.py"), *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        cwd=ROOT,
        # A shell may start background jobs with SIGINT ignored: restore a real Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    seen = b""
    try:
        deadline = time.monotonic() + 4 * TIMEOUT
        # Wait until some answers are saved (the progress bar shows items done).
        while time.monotonic() < deadline and not (done.exists() and done.stat().st_size):
            ready, _, _ = select.select([proc.stderr], [], [], 0.1)
            if ready:
                seen += os.read(proc.stderr.fileno(), 65536)
        assert done.exists() and done.stat().st_size, seen.decode(errors="replace")
        proc.send_signal(signal.SIGINT)
        out, rest = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = (seen + rest).decode(errors="replace")
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    lines = err.split("\n")
    hints = [line for line in lines if "interrupted" in line.lower()]
    assert hints, err[-2000:]
    for line in hints:  # each on a line of its own: no progress bar before it
        assert "\r" not in line and "item/s" not in line, repr(line)
    assert any(line.startswith("batch_job.py: interrupted") for line in hints), hints
    assert f"--resume {done}" in err
    assert out == b""  # no summary: the batch did not end
