"""Run one async call over many items: adaptive concurrency, ordered results, resumable.

The engine knows nothing about HTTP: it runs ``await call(item)`` for every item, each
attempt through a :class:`~._control.Controller` (a concurrency limit, adaptive by
default, and an optional pace), keeps results in input order, collects per-item errors
(or stops at the first one with ``fail_fast=True``), shows a tqdm bar if asked, and
measures wall time, throughput and latency percentiles.

Retries: with ``max_retries=N`` the engine itself retries an item's retryable failures
(the client's policy, :mod:`odsc_llm._retry`: which errors, how long to wait), and every
attempt goes through the controller, which is how it sees each 429/503 and how a retry
waits for a slot and the pace instead of adding to a storm. The resource ``batch()``
methods therefore call ``create(..., max_retries=0)`` and hand the client's
``max_retries`` to the engine: one retry loop, never two nested ones. A caller's own
``call`` with its own retries works too; the controller then only sees final failures.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState

from .. import _constants as C
from .._errors import InvalidRequestError
from .._retry import retry_kwargs
from ._control import Concurrency, Controller, validate_options
from ._lag import watch_loop_lag
from ._results import (
    BatchError,
    BatchItem,
    BatchResult,
    BatchResumeFileError,
    BatchSummary,
    ItemId,
    percentile,
    total_tokens,
)
from ._resume import ResumeFile, load_resume_file, restore
from ._trace import trace_from_env

__all__ = ["run_batch", "run_batch_sync", "run_sync"]

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")
T = TypeVar("T")

log = logging.getLogger("odsc_llm")


def _check_ids(ids: Sequence[ItemId] | None, count: int) -> list[ItemId]:
    if ids is None:
        return list(range(count))
    id_list = list(ids)
    if len(id_list) != count:
        raise InvalidRequestError(f"ids has {len(id_list)} entries but there are {count} items.")
    for value in id_list:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidRequestError(
                f"Each id must be a str or an int (JSON-safe), not {value!r}."
            )
    if len(set(id_list)) != count:
        raise InvalidRequestError("ids must be unique: a resume file tells items apart by id.")
    return id_list


def _check_retries(max_retries: object) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidRequestError(
            f"max_retries must be an int >= 0 (0: no retries), not {max_retries!r}."
        )
    return max_retries


class _Stop:
    """tenacity ``stop`` of one item: ``retries`` for failures, and with adaptive
    concurrency up to ``throttled`` more for 429/503, which tell the controller to slow
    down rather than that the item is bad (its retry waits for the slower pace)."""

    def __init__(self, retries: int, throttled: int) -> None:
        self.retries = retries
        self.throttled = throttled

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if self.throttled > 0 and getattr(error, "status_code", None) in (429, 503):
            self.throttled -= 1
            return False
        self.retries -= 1
        return self.retries < 0


def _make_progress(enabled: bool, total: int, initial: int) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise ImportError(
            "progress=True needs tqdm, which is not installed: pip install 'odsc-llm[batch]' "
            "(or pip install tqdm), or pass progress=False."
        ) from exc
    return tqdm(total=total, initial=initial, unit="item")


def _interrupted_message(done: int, total: int, path: str | None) -> str:
    if path is not None:
        return (
            f"Batch interrupted: {done} of {total} items finished and are saved in "
            f"{path!r}. Run the same batch again with resume_file={path!r} (and the same "
            "ids) to send only the rest."
        )
    return (
        f"Batch interrupted: {done} of {total} items had finished; they are lost because "
        "no resume_file was given. Pass resume_file='batch.jsonl' to be able to resume."
    )


def _write_failed_message(
    cause: OSError, path: str, finished: int, saved: int, not_run: int, resumed: int
) -> str:
    return (
        f"Could not write to the resume file {path!r} ({cause}), so the batch stopped "
        f"sending new items ({not_run} not sent). {finished} items finished in this run: "
        f"their results are in this error's .result; {saved} of them were saved in the "
        f"file before the failure, which holds everything written before it"
        + (f" (and the {resumed} items of earlier runs)" if resumed else "")
        + ". Free some space (or pass another resume_file) and run the same batch again "
        f"with resume_file={path!r} (and the same ids) to send only the rest."
    )


def _summarize(
    slots: list[BatchItem[ResultT]],
    control: Controller,
    pending: int,
    resumed: int,
    wall_time: float,
) -> BatchResult[ResultT]:
    latencies = sorted(s.latency for s in slots if s.latency is not None and not s.resumed)
    ran = len(latencies)
    summary = BatchSummary(
        count=len(slots),
        ok=sum(1 for s in slots if s.ok),
        failed=sum(1 for s in slots if s.error is not None),
        resumed=resumed,
        not_run=pending - ran,
        wall_time=wall_time,
        throughput=ran / wall_time if wall_time > 0 else 0.0,
        latency_p50=percentile(latencies, 50),
        latency_p95=percentile(latencies, 95),
        latency_p99=percentile(latencies, 99),
        total_tokens=total_tokens(s for s in slots if s.error is None and not s.resumed),
        retries=control.retries,
        throttled_429=control.throttled_429,
        throttled_503=control.throttled_503,
        final_concurrency=control.slots,
        peak_in_flight=control.peak_in_flight,
        final_rate=control.rate,
        cuts=control.cuts,
    )
    return BatchResult(slots, summary)


async def run_batch(
    call: Callable[[ItemT], Awaitable[ResultT]],
    items: Iterable[ItemT],
    *,
    concurrency: Concurrency = "auto",
    max_concurrency: int = C.BATCH_MAX_CONCURRENCY,
    rate_limit: float | None = None,
    max_retries: int = 0,
    fail_fast: bool = False,
    progress: bool = False,
    resume_file: str | os.PathLike[str] | None = None,
    ids: Sequence[ItemId] | None = None,
    retry_failed: bool = True,
    decode: Callable[[Any], ResultT] | None = None,
    pool_size: int | None = None,
    controller: Controller | None = None,
) -> BatchResult[ResultT]:
    """Run ``await call(item)`` for every item; results in input order.

    ``concurrency``: ``"auto"`` (the default) adapts the number of calls in flight to
    what the server sustains (AIMD: grows while answers come back fine and latency
    holds, cuts on 503 and timeouts; a 429 makes it pace itself just under the rate
    the server allows), up to ``max_concurrency``. An int fixes it. ``rate_limit``:
    at most this many calls started per second, shared by all items (e.g. 150, the
    service's default per tenancy, when other jobs share the tenancy). ``pool_size``:
    in flight never exceeds it (the resource methods pass the client's pool size).
    ``controller``: a :class:`~._control.Controller` to use (and keep) instead of a new
    one, so successive batches (e.g. the blocks a Ray actor gets) share what it learned;
    the three knobs above are then its own, and its counters add up across batches.

    ``max_retries``: the engine retries retryable failures (429, 5xx, timeouts...) of an
    item this many times, with the client's backoff; each attempt waits for a slot.

    An exception from one call is recorded on its item (``BatchItem.error``) and the
    batch goes on; with ``fail_fast=True`` the first one cancels the calls in flight and
    is raised.

    ``resume_file``: a JSONL file where each finished item is appended (id and result or
    error). Items whose id already has a result there are not sent again; their stored
    result (JSON, or ``decode(json)``) is returned with ``resumed=True``. Failed items are
    sent again unless ``retry_failed=False``. ``ids`` names the items (default: their
    index); pass stable ids when the item list can change between runs. If writing it
    fails (a full disk), no new item is sent, those in flight finish, and
    :class:`BatchResumeFileError` (an ``OSError``) is raised with the results so far.

    Ctrl-C (or cancelling the task) stops launching items, cancels those in flight
    (within ``BATCH_CANCEL_GRACE`` seconds), keeps what finished in ``resume_file``,
    logs how to resume, and re-raises.

    ``progress=True`` shows a tqdm bar with items/s, in-flight, retries and 429s
    (``pip install 'odsc-llm[batch]'``).
    """
    fixed, ceiling, rate = validate_options(concurrency, max_concurrency, rate_limit)
    retries = _check_retries(max_retries)
    if pool_size is not None:
        ceiling = min(ceiling, pool_size)
        fixed = None if fixed is None else min(fixed, pool_size)
    item_list = list(items)
    id_list = _check_ids(ids, len(item_list))
    slots: list[BatchItem[ResultT]] = [
        BatchItem(index=i, id=item_id) for i, item_id in enumerate(id_list)
    ]

    path = os.fspath(resume_file) if resume_file is not None else None
    pending: list[int] = []
    if path is not None:
        records = load_resume_file(path)
        for slot in slots:
            stored = records.get(slot.id)
            if stored is None or (not stored.get("ok") and retry_failed):
                pending.append(slot.index)
            else:
                restore(slot, stored, decode)
    else:
        pending = list(range(len(slots)))

    resumed = len(slots) - len(pending)
    control = controller or Controller(fixed=fixed, max_concurrency=ceiling, rate_limit=rate)
    bar = _make_progress(progress, len(slots), resumed)
    sink = ResumeFile(path) if path is not None else None
    failure: list[BaseException] = []
    write_failure: list[OSError] = []
    finished = saved = 0

    def record(slot: BatchItem[ResultT]) -> None:
        nonlocal finished, saved
        finished += 1
        if sink is not None and not write_failure:
            try:
                sink.write(slot)
            except OSError as exc:
                # Raised from a task nobody awaits, it would only be logged as "Task
                # exception was never retrieved"; the launcher stops on it instead.
                write_failure.append(exc)
            else:
                saved += 1
        if bar is not None:
            bar.set_postfix(control.snapshot(), refresh=False)
            bar.update(1)

    unclaimed = 0  # slots taken by the launcher whose task has not started yet

    async def attempt(item: ItemT, held: bool) -> ResultT:
        nonlocal unclaimed
        if held:
            unclaimed -= 1
        else:
            await control.acquire()
        try:
            started = time.perf_counter()
            try:
                result = await call(item)
            except Exception as exc:
                control.failed(exc)
                raise
            control.succeeded(time.perf_counter() - started)
            return result
        finally:
            control.release()

    async def with_retries(index: int) -> ResultT:
        item = item_list[index]
        if retries == 0:
            return await attempt(item, held=True)
        held = True
        result: Any = None
        kwargs = retry_kwargs(
            max_retries=retries, total_timeout=None, method="batch item", url=repr(slots[index].id)
        )
        kwargs["stop"] = _Stop(retries, C.BATCH_THROTTLED_RETRIES if control.adaptive else 0)
        async for attempt_state in AsyncRetrying(**kwargs):
            with attempt_state:
                if not held:
                    control.retries += 1
                first, held = held, False
                result = await attempt(item, held=first)
        return result  # type: ignore[no-any-return]

    async def run_one(index: int) -> None:
        slot = slots[index]
        started = time.perf_counter()
        try:
            result = await with_retries(index)
        except Exception as exc:
            slot.latency = time.perf_counter() - started
            slot.error = BatchError.from_exception(exc)
            record(slot)
            if fail_fast:
                failure.append(exc)
            return
        slot.latency = time.perf_counter() - started
        slot.result = result
        record(slot)

    tasks: set[asyncio.Task[None]] = set()
    trace = None
    # The loop's own lag, so the controller does not take this process's slowness for
    # the server's (a fixed concurrency has nothing to adapt).
    lag_probe = (
        asyncio.ensure_future(watch_loop_lag(control.loop_lag)) if control.adaptive else None
    )
    started = time.perf_counter()
    try:
        # Opened in the try: a bad path raises, and the bar and resume file still close.
        trace = trace_from_env() if control.trace is None else None
        if trace is not None:
            control.trace = trace
        for index in pending:
            if failure or write_failure:
                break
            await control.acquire()  # the first attempt's slot, handed to its task
            if failure or write_failure:
                control.release()
                break
            unclaimed += 1
            task = asyncio.ensure_future(run_one(index))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        while tasks and not failure:
            await asyncio.wait(set(tasks), return_when=asyncio.FIRST_COMPLETED)
        if failure:
            raise failure[0]
    except BaseException as exc:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(set(tasks), timeout=C.BATCH_CANCEL_GRACE)
        for _ in range(unclaimed):  # tasks cancelled before they started: their slots
            control.release()
        unclaimed = 0
        if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt)):
            if bar is not None:  # end the bar's line first: the hint gets a line of its own
                bar.close()
                bar = None
            log.warning(_interrupted_message(resumed + finished, len(slots), path))
        raise
    finally:
        if lag_probe is not None:
            lag_probe.cancel()
        if trace is not None:
            control.trace = None
            trace.close()
        if sink is not None:
            sink.close()
        if bar is not None:
            bar.close()
    wall_time = time.perf_counter() - started
    result = _summarize(slots, control, len(pending), resumed, wall_time)
    if write_failure:
        assert path is not None  # only a resume file is written
        cause = write_failure[0]
        message = _write_failed_message(
            cause, path, finished, saved, result.summary.not_run, resumed
        )
        raise BatchResumeFileError(
            message, result=result, path=path, saved=saved, cause=cause
        ) from cause
    return result


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop.

    With no loop running in this thread (scripts, jobs) it uses ``asyncio.run``. Inside a
    running loop (Jupyter) it runs the coroutine on a fresh loop in a worker thread and
    waits for it, so it never calls ``asyncio.run`` on a running loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    if not running:
        # Outside the except block, so a Ctrl-C traceback is not chained to the
        # "no running event loop" RuntimeError.
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="odsc-llm-batch") as pool:
        return pool.submit(asyncio.run, coro).result()


def run_batch_sync(
    call: Callable[[ItemT], Awaitable[ResultT]],
    items: Iterable[ItemT],
    **options: Any,
) -> BatchResult[ResultT]:
    """:func:`run_batch` from sync code (works in Jupyter too, see :func:`run_sync`).

    ``call`` is still an async function; it runs on the loop this function drives, so
    create async clients inside it (or in a coroutine), not on another loop. ``options``
    are :func:`run_batch`'s keywords.
    """
    return run_sync(run_batch(call, items, **options))
