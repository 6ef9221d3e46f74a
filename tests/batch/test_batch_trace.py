"""``ODSC_LLM_BATCH_TRACE``: the controller's decisions as JSON lines, only when asked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from odsc_llm import _constants as C
from odsc_llm._batch import Controller, run_batch
from odsc_llm._errors import InvalidRequestError
from tests.support.batch import FakeClock, Status


async def _answer(item: int) -> int:
    await asyncio.sleep(0)
    return item


async def test_the_trace_logs_each_check_while_the_variable_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "trace.jsonl"
    monkeypatch.setenv(C.ENV_BATCH_TRACE, str(path))
    control = Controller(fixed=None, max_concurrency=64, rate_limit=None)
    result = await run_batch(_answer, range(4 * C.BATCH_LATENCY_EVERY), controller=control)
    assert result.ok
    events = [json.loads(line) for line in path.read_text().splitlines()]
    checks = [e for e in events if e["event"] == "check"]
    assert len(checks) == 4  # one per BATCH_LATENCY_EVERY answers
    assert {"t", "limit", "in_flight", "rate", "median", "best", "lag", "stalled"} <= set(checks[0])
    assert control.trace is None  # the file is closed and let go of with the batch
    await run_batch(_answer, range(C.BATCH_LATENCY_EVERY), controller=control)
    assert len(path.read_text().splitlines()) == len(events) + 1  # appended


async def test_no_trace_without_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(C.ENV_BATCH_TRACE, raising=False)
    monkeypatch.chdir(tmp_path)
    control = Controller(fixed=None, max_concurrency=64, rate_limit=None)
    await run_batch(_answer, range(2 * C.BATCH_LATENCY_EVERY), controller=control)
    assert control.trace is None and list(tmp_path.iterdir()) == []


async def test_an_unwritable_trace_path_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(C.ENV_BATCH_TRACE, str(tmp_path / "missing" / "trace.jsonl"))
    calls: list[int] = []

    async def call(item: int) -> int:
        calls.append(item)
        return item

    with pytest.raises(InvalidRequestError, match=r"ODSC_LLM_BATCH_TRACE=.*unset it"):
        await run_batch(call, range(4), resume_file=tmp_path / "done.jsonl")
    assert calls == []  # nothing was sent


def test_cuts_and_the_end_of_slow_start_are_traced() -> None:
    clock = FakeClock()
    control = Controller(fixed=None, max_concurrency=256, rate_limit=None, clock=clock)
    events: list[tuple[str, dict[str, object]]] = []
    control.trace = lambda event, state: events.append((event, state))
    for _ in range(C.BATCH_LATENCY_EVERY):
        clock.now += 0.01
        control.succeeded(0.1)
    control.loop_lag(0.5)  # the client waits on its own loop: slow start ends
    for _ in range(C.BATCH_LATENCY_EVERY):
        clock.now += 0.01
        control.succeeded(0.5)
    control.failed(Status(429))
    clock.now += 1.0
    control.failed(Status(503))
    names = [name for name, _ in events]
    assert names == ["check", "slow_start_end", "check", "rate_cut", "cut"]
    assert events[-2][1]["rate"] is not None and events[-1][1]["slow_start"] is False
