"""A batch process interrupted (Ctrl-C) or killed (SIGKILL) loses and duplicates nothing.

The batch runs in a subprocess (a small script below) with a resume file; the test
interrupts or kills it, then resumes, and checks the file and the final result.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from odsc_llm._batch import run_batch_sync

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from odsc_llm._batch import run_batch_sync

    path, count, slow = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])

    async def call(item):
        # Every 7th item is slow: those are in flight when the signal comes.
        await asyncio.sleep(slow if item % 7 == 3 else 0.002 * (item % 5))
        return {"value": item * 2}

    result = run_batch_sync(call, range(count), resume_file=path, concurrency=8)
    print("DONE", result.summary.ok, flush=True)
    """
)


def _start(tmp_path: Path, path: Path, count: int, slow: float) -> subprocess.Popen[str]:
    script = tmp_path / "batch_script.py"
    script.write_text(SCRIPT)
    return subprocess.Popen(
        [sys.executable, str(script), str(path), str(count), str(slow)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_lines(path: Path, minimum: int, proc: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= minimum:
            return
        if proc.poll() is not None:
            return
        time.sleep(0.01)
    raise AssertionError(f"the batch wrote fewer than {minimum} lines in {timeout} s")


def _ok_ids(path: Path) -> list[int]:
    ids = []
    for line in path.read_bytes().split(b"\n")[:-1]:  # complete lines only
        record = json.loads(line)
        if record["ok"]:
            assert record["result"] == {"value": record["id"] * 2}
            ids.append(record["id"])
    return ids


def test_ctrl_c_stops_cancels_in_flight_saves_and_says_how_to_resume(tmp_path: Path) -> None:
    path = tmp_path / "done.jsonl"
    proc = _start(tmp_path, path, count=400, slow=60.0)
    try:
        _wait_for_lines(path, 20, proc, timeout=60)
        assert proc.poll() is None, proc.communicate()
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    # In-flight items sleep 60 s: only cancelling them ends the process this soon.
    assert took < 2.0 + 3.0, took
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in stderr
    assert "Batch interrupted" in stderr and f"resume_file={str(path)!r}" in stderr
    done = _ok_ids(path)
    assert len(done) == len(set(done)) >= 20
    assert all(i % 7 != 3 for i in done)  # the slow ones were cancelled, not recorded

    calls: list[int] = []

    async def call(item: int) -> dict[str, int]:
        calls.append(item)
        return {"value": item * 2}

    result = run_batch_sync(call, range(400), resume_file=path)
    assert result.ok and result.summary.resumed == len(done)
    assert sorted(calls) == sorted(set(range(400)) - set(done))
    assert [r["value"] for r in result.results if r] == [i * 2 for i in range(400)]


def test_sigkill_at_random_moments_then_resume_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "done.jsonl"
    count = 600
    rng = random.Random(1234)
    for kill in range(5):
        before = path.read_bytes().count(b"\n") if path.exists() else 0
        proc = _start(tmp_path, path, count=count, slow=0.05)
        try:
            _wait_for_lines(path, before + 5, proc, timeout=60)
            time.sleep(rng.uniform(0.0, 0.15))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        if kill % 2 == 0:
            # A crash in the middle of a write: half a record at the end of the file.
            with open(path, "ab") as handle:
                handle.write(b'{"id": 9999, "ok": tr')
        done = _ok_ids(path)
        assert len(done) == len(set(done)), "an item was recorded twice"

    calls: list[int] = []

    async def call(item: int) -> dict[str, int]:
        calls.append(item)
        return {"value": item * 2}

    done = _ok_ids(path)
    result = run_batch_sync(call, range(count), resume_file=path, concurrency=16)
    assert result.ok
    assert sorted(calls) == sorted(set(range(count)) - set(done))  # nothing sent twice
    assert [r["value"] for r in result.results if r] == [i * 2 for i in range(count)]
    final = _ok_ids(path)
    assert sorted(final) == list(range(count))  # every item exactly once in the file
    assert path.read_bytes().endswith(b"\n")
    assert os.path.getsize(path) > 0
