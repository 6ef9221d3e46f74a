"""The resume file cannot be written (a full disk): the batch stops sending and says so.

Before: every remaining item was still sent (and billed) though none was saved, asyncio
logged "Task exception was never retrieved" per item, and the ``OSError`` came only at
the end, with the in-memory results lost.
"""

from __future__ import annotations

import asyncio
import builtins
import errno
import gc
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

import odsc_llm
from odsc_llm._batch import BatchResumeFileError, _resume, run_batch, run_batch_sync
from odsc_llm._errors import OdscLLMError

pytest.importorskip("uvicorn", reason="the emulator needs the testing extra")

from odsc_llm.testing import LocalDeployment

ROOM = 10  # lines that fit before the disk is full
CONCURRENCY = 4


class FullDisk:
    """A resume file whose disk fills up after ``room`` lines: the next flush writes half
    a line (as a write cut short by ENOSPC does), then every flush and close fails."""

    def __init__(self, path: str, room: int) -> None:
        self._file = builtins.open(path, "a+b")  # noqa: SIM115 - closed by close()
        self.room = room
        self.lines = 0
        self.pending = b""

    def write(self, data: bytes) -> int:
        self.pending += data
        return len(data)

    def flush(self) -> None:
        if not self.pending:
            return
        if self.lines >= self.room:
            if self.room >= 0:
                self._file.write(self.pending[: len(self.pending) // 2])
                self._file.flush()
                self.room = -1  # full now
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._file.write(self.pending)
        self._file.flush()
        self.lines += 1
        self.pending = b""

    def close(self) -> None:
        self._file.close()
        if self.pending:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name: str) -> Any:  # seek, read, truncate, fileno (the repair)
        return getattr(self._file, name)


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """The resume file's disk fills up while ``full_disk["full"]`` is true."""
    state = {"full": True}

    def fake_open(path: str, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode == "a+b" and state["full"]:
            return FullDisk(path, ROOM)
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(_resume, "open", fake_open, raising=False)
    return state


def _check_error(error: BatchResumeFileError, path: Path, total: int, launched: int) -> None:
    assert isinstance(error, OSError) and isinstance(error, OdscLLMError)
    assert error.errno == errno.ENOSPC and isinstance(error.__cause__, OSError)
    assert error.saved == ROOM and error.path == str(path)
    # Launching stopped at the first failed write: at most the items in flight then.
    assert launched <= ROOM + 1 + CONCURRENCY, launched
    summary = error.result.summary
    assert summary.ok == launched and summary.not_run == total - launched
    assert sum(r is not None for r in error.result.results) == launched
    text = str(error)
    assert "No space left on device" in text and f"{ROOM} of them were saved" in text
    assert f"resume_file={str(path)!r}" in text


def _no_unretrieved_task_errors(caplog: pytest.LogCaptureFixture) -> None:
    gc.collect()  # an unretrieved task exception is logged when the task is collected
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


@pytest.mark.parametrize("sync", [True, False])
async def test_engine_stops_at_the_first_failed_write(
    full_disk: dict[str, bool], tmp_path: Path, caplog: pytest.LogCaptureFixture, sync: bool
) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    path = tmp_path / "done.jsonl"
    launched: list[int] = []

    async def call(item: int) -> dict[str, int]:
        launched.append(item)
        await asyncio.sleep(0.002 * (1 + item % 3))
        return {"value": item * 2}

    options: dict[str, Any] = {"resume_file": path, "concurrency": CONCURRENCY}
    with pytest.raises(BatchResumeFileError) as caught:
        if sync:
            run_batch_sync(call, range(100), **options)
        else:
            await run_batch(call, range(100), **options)
    _check_error(caught.value, path, 100, len(launched))
    _no_unretrieved_task_errors(caplog)

    # The next run (space freed) sends exactly the items not saved, and the torn last
    # line the failure left is cut off, not glued to.
    saved = {json.loads(line)["id"] for line in path.read_bytes().split(b"\n")[:-1]}
    assert len(saved) == ROOM
    launched.clear()
    full_disk["full"] = False
    again = await run_batch(call, range(100), resume_file=path, concurrency=CONCURRENCY)
    assert again.ok and sorted(launched) == sorted(set(range(100)) - saved)
    assert [r["value"] for r in again.results if r is not None] == [i * 2 for i in range(100)]


@pytest.mark.parametrize("sync", [True, False])
async def test_client_batch_stops_at_the_first_failed_write(
    full_disk: dict[str, bool],
    emulator: LocalDeployment,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    sync: bool,
) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    path = tmp_path / "done.jsonl"
    prompts = [f"p{i}" for i in range(60)]
    options: dict[str, Any] = {"resume_file": path, "concurrency": CONCURRENCY, "max_tokens": 2}
    with pytest.raises(BatchResumeFileError) as caught:
        if sync:
            odsc_llm.Client(emulator.deployment, auth=emulator.auth).completions.batch(
                prompts, **options
            )
        else:
            async with odsc_llm.AsyncClient(emulator.deployment, auth=emulator.auth) as client:
                await client.completions.batch(prompts, **options)
    _check_error(caught.value, path, 60, len(emulator.requests))
    answers = [c.choices[0].text for c in caught.value.result.results if c is not None]
    assert answers and all(a.startswith("You said") for a in answers)
    _no_unretrieved_task_errors(caplog)
