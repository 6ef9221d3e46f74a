"""The batch engine: concurrency bound, order, errors, fail-fast, resume, sync wrapper."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

import odsc_llm
from odsc_llm._batch import BatchError, BatchResult, run_batch, run_batch_sync, run_sync
from odsc_llm._errors import APIConnectionError
from odsc_llm.types import ChatCompletion, Completion


class Recorder:
    """An async call that tracks how many calls are in flight at once."""

    def __init__(self, fail: set[int] | None = None, delay: float = 0.001) -> None:
        self.fail = fail or set()
        self.delay = delay
        self.in_flight = 0
        self.peak = 0
        self.calls: list[int] = []

    async def __call__(self, item: int) -> dict[str, Any]:
        self.calls.append(item)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            # later items finish first, so order must come from the engine
            await asyncio.sleep(self.delay * (1 + (item * 7919) % 5))
            if item in self.fail:
                raise APIConnectionError(f"item {item} failed")
            return {"value": item * 2, "usage": {"total_tokens": 3}}
        finally:
            self.in_flight -= 1


async def test_results_in_input_order_and_concurrency_bounded() -> None:
    call = Recorder()
    result = await run_batch(call, range(50), concurrency=4)
    assert [r["value"] for r in result.results if r is not None] == [i * 2 for i in range(50)]
    assert call.peak == 4
    assert sorted(call.calls) == list(range(50))
    summary = result.summary
    assert (summary.count, summary.ok, summary.failed, summary.resumed) == (50, 50, 0, 0)
    assert summary.throughput > 0
    assert summary.latency_p50 is not None and summary.latency_p99 is not None
    assert summary.latency_p50 <= summary.latency_p95 <= summary.latency_p99  # type: ignore[operator]
    assert summary.total_tokens == 150
    assert "50 items: 50 ok, 0 failed" in str(summary)
    assert result.ok


async def test_errors_are_collected_not_raised() -> None:
    result = await run_batch(Recorder(fail={3, 7}), range(10), concurrency=3)
    assert [item.index for item in result.errors] == [3, 7]
    error = result[3].error
    assert isinstance(error, BatchError)
    assert error.type == "APIConnectionError"
    assert error.message == "item 3 failed"
    assert isinstance(error.exception, APIConnectionError)
    assert result.results[3] is None and result.results[4] == {
        "value": 8,
        "usage": {"total_tokens": 3},
    }
    assert (result.summary.ok, result.summary.failed) == (8, 2)
    assert not result.ok
    with pytest.raises(APIConnectionError, match="item 3 failed"):
        result.raise_for_errors()
    assert "APIConnectionError" in result._repr_html_()


async def test_fail_fast_raises_first_error_and_stops() -> None:
    call = Recorder(fail={2})
    with pytest.raises(APIConnectionError, match="item 2 failed"):
        await run_batch(call, range(200), concurrency=2, fail_fast=True)
    assert len(call.calls) < 200
    assert call.in_flight == 0  # the other worker was cancelled, nothing left running


async def test_resume_skips_done_items_and_returns_stored_results(tmp_path: Path) -> None:
    path = tmp_path / "done.jsonl"
    first = await run_batch(Recorder(fail={1, 4}), range(6), resume_file=path, concurrency=2)
    assert first.summary.failed == 2
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(line["id"] for line in lines) == list(range(6))
    assert {line["id"] for line in lines if not line["ok"]} == {1, 4}
    assert all("value" in line["result"] for line in lines if line["ok"])

    again = Recorder()
    second = await run_batch(again, range(6), resume_file=path, concurrency=2)
    assert sorted(again.calls) == [1, 4]  # only the failed ones are sent again
    assert second.summary.resumed == 4 and second.summary.ok == 6
    assert second.summary.total_tokens == 6  # this run's two items only, not the resumed
    assert [item.resumed for item in second] == [True, False, True, True, False, True]
    assert [r["value"] for r in second.results if r is not None] == [0, 2, 4, 6, 8, 10]

    third = Recorder()
    done = await run_batch(third, range(6), resume_file=path)
    assert third.calls == [] and done.summary.resumed == 6 and done.summary.throughput == 0


async def test_resume_keeps_failures_when_asked_and_decodes(tmp_path: Path) -> None:
    path = tmp_path / "done.jsonl"
    ids = ["a", "b", "c"]
    await run_batch(Recorder(fail={1}), [0, 1, 2], resume_file=path, ids=ids)
    again = Recorder()
    result = await run_batch(
        again,
        [0, 1, 2],
        resume_file=str(path),
        ids=ids,
        retry_failed=False,
        decode=lambda raw: raw["value"],
    )
    assert again.calls == []
    assert result.results == [0, None, 4]
    assert result[1].error is not None and result[1].error.type == "APIConnectionError"
    assert result[1].error.exception is None


async def test_resume_file_with_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "done.jsonl"
    path.write_text('{"id": 0, "ok": true, "result": 1}\n{"id": 1, "ok": tr')
    call = Recorder()
    result = await run_batch(call, [0, 1], resume_file=path)
    assert call.calls == [1]
    assert result.results[0] == 1
    lines = path.read_text().splitlines()
    assert json.loads(lines[-1])["id"] == 1  # appended on a fresh line
    # The torn line was cut off (not kept as a middle line the next run would refuse).
    assert [json.loads(line)["id"] for line in lines] == [0, 1]
    again = Recorder()
    await run_batch(again, [0, 1], resume_file=path)
    assert again.calls == []


async def test_resume_file_that_is_not_jsonl_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "done.jsonl"
    path.write_text("not json\n{}\n")
    with pytest.raises(ValueError, match="not valid JSON"):
        await run_batch(Recorder(), [0], resume_file=path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"concurrency": 0}, "concurrency"),
        ({"ids": ["a"]}, "ids has 1 entries"),
        ({"ids": ["a", "a"]}, "unique"),
        ({"ids": [1.5, 2]}, "str or an int"),
    ],
)
async def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await run_batch(Recorder(), [0, 1], **kwargs)


async def test_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm", reason="tqdm is not installed (pip install 'odsc-llm[batch]')")
    result = await run_batch(Recorder(), range(5), progress=True)
    assert result.summary.ok == 5
    assert "5/5" in capsys.readouterr().err


async def test_empty_batch() -> None:
    result: BatchResult[Any] = await run_batch(Recorder(), [])
    assert len(result) == 0 and result.summary.count == 0 and result.summary.latency_p50 is None


def test_sync_wrapper_without_a_loop() -> None:
    result = run_batch_sync(Recorder(), range(5), concurrency=2)
    assert [r["value"] for r in result.results if r is not None] == [0, 2, 4, 6, 8]


async def test_sync_wrapper_inside_a_running_loop() -> None:
    # As in Jupyter: a loop is running in this thread; the batch runs on another thread.
    main_thread = threading.get_ident()
    threads: set[int] = set()

    async def call(item: int) -> int:
        threads.add(threading.get_ident())
        await asyncio.sleep(0)
        return item

    result = run_batch_sync(call, range(3))
    assert result.results == [0, 1, 2]
    assert threads and main_thread not in threads


async def test_run_sync_propagates_errors_inside_a_loop() -> None:
    async def boom() -> None:
        raise APIConnectionError("nope")

    with pytest.raises(APIConnectionError, match="nope"):
        run_sync(boom())


# ---- client.completions.batch / chat.completions.batch against the emulator ------------


async def test_async_completions_batch(emulator: Any) -> None:
    prompts = [f"prompt {i}" for i in range(12)]
    async with odsc_llm.AsyncClient(emulator.deployment, auth=emulator.auth) as client:
        result = await client.completions.batch(prompts, concurrency=4, max_tokens=50)
    assert isinstance(result, BatchResult)
    assert [c.choices[0].text for c in result.results if c is not None] == [
        f"You said: {p}" for p in prompts
    ]
    assert all(isinstance(c, Completion) and c.request_id for c in result.results)
    assert result.summary.ok == 12 and result.summary.total_tokens
    assert {r.json()["max_tokens"] for r in emulator.requests} == {50}


async def test_async_chat_batch_collects_errors(emulator: Any) -> None:
    conversations = [[{"role": "user", "content": f"q{i}"}] for i in range(6)]
    emulator.faults.push(status=400, message="bad prompt")
    async with odsc_llm.AsyncClient(emulator.deployment, auth=emulator.auth) as client:
        result = await client.chat.completions.batch(conversations, concurrency=2)
    assert result.summary.failed == 1 and result.summary.ok == 5
    (failed,) = result.errors
    assert failed.error is not None and failed.error.type == "BadRequestError"
    assert failed.error.status_code == 400 and "bad prompt" in failed.error.message
    for item, conversation in zip(result, conversations, strict=True):
        if item.ok:
            assert isinstance(item.result, ChatCompletion)
            assert (
                item.result.choices[0].message.content == f"You said: {conversation[0]['content']}"
            )


async def test_batch_uses_the_client_retries(emulator: Any) -> None:
    emulator.faults.push(status=503, retry_after=0)
    async with odsc_llm.AsyncClient(emulator.deployment, auth=emulator.auth, max_retries=1) as c:
        result = await c.completions.batch(["a", "b", "c"], concurrency=1)
    assert result.ok
    assert len(emulator.requests) == 4  # one retry, no second retry loop


async def test_batch_fail_fast(emulator: Any) -> None:
    emulator.faults.push(status=400)
    async with odsc_llm.AsyncClient(emulator.deployment, auth=emulator.auth) as client:
        with pytest.raises(odsc_llm.BadRequestError):
            await client.completions.batch(["a"] * 20, concurrency=1, fail_fast=True)
    assert len(emulator.requests) == 1


async def test_batch_refuses_stream(emulator: Any) -> None:
    async with odsc_llm.AsyncClient(emulator.deployment, auth=emulator.auth) as client:
        with pytest.raises(TypeError, match="stream"):
            await client.completions.batch(["a"], stream=True)  # type: ignore[call-arg]


def test_sync_batch_resumes_with_typed_results(emulator: Any, tmp_path: Path) -> None:
    path = tmp_path / "done.jsonl"
    client = odsc_llm.Client(emulator.deployment, auth=emulator.auth, max_retries=0)
    ids = ["x", "y", "z"]
    emulator.faults.push(status=500)
    first = client.completions.batch(
        ["one", "two", "three"], concurrency=1, resume_file=path, ids=ids
    )
    assert first.summary.failed == 1
    emulator.clear_requests()
    second = client.completions.batch(
        ["one", "two", "three"], concurrency=1, resume_file=path, ids=ids
    )
    assert len(emulator.requests) == 1  # only the failed one was sent again
    assert second.ok and second.summary.resumed == 2
    assert [c.choices[0].text for c in second.results if c is not None] == [
        "You said: one",
        "You said: two",
        "You said: three",
    ]
    assert all(isinstance(c, Completion) for c in second.results)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(line["request_id"] for line in lines if line["ok"])


async def test_sync_chat_batch_inside_a_running_loop(emulator: Any) -> None:
    client = odsc_llm.Client(emulator.deployment, auth=emulator.auth)
    result = client.chat.completions.batch([[{"role": "user", "content": "hey"}]] * 3)
    assert [c.choices[0].message.content for c in result.results if c] == ["You said: hey"] * 3


def test_sync_batch_keeps_the_clients_default_headers(emulator: Any) -> None:
    client = odsc_llm.Client(
        emulator.deployment, auth=emulator.auth, default_headers={"x-team": "search"}
    )
    result = client.completions.batch(["a", "b"], max_tokens=3)
    assert result.ok
    assert [r.headers.get("x-team") for r in emulator.requests] == ["search", "search"]
    assert all(r.headers["accept"] == "application/json" for r in emulator.requests)
