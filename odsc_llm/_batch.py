"""Run one async call over many items: bounded concurrency, ordered results, resumable.

The engine knows nothing about HTTP: it runs ``await call(item)`` for every item with at
most ``concurrency`` calls in flight, keeps results in input order, collects per-item
errors (or stops at the first one with ``fail_fast=True``), shows a tqdm bar if asked,
and measures wall time, throughput and latency percentiles. Retries belong to the call
(the client's ``max_retries``): the engine never calls an item twice in one run.

With ``resume_file`` every finished item is appended to a JSONL file as one line::

    {"id": 17, "ok": true, "result": {...}}
    {"id": 18, "ok": false, "error": {"type": "RateLimitError", "message": "...", ...}}

Run the same batch again with the same file and the items already answered are not sent
again: their stored results come back in place (decoded with ``decode`` if given).
Items whose last line is an error are sent again (``retry_failed=True``, the default).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import math
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Generic, TypedDict, TypeVar

from pydantic import BaseModel

from .types.params import ChatCompletionCreateParams, CompletionCreateParams

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = [
    "BatchError",
    "BatchItem",
    "BatchOptions",
    "BatchResult",
    "BatchSummary",
    "ChatCompletionBatchParams",
    "CompletionBatchParams",
    "run_batch",
    "run_batch_sync",
    "run_sync",
]

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")
T = TypeVar("T")

ItemId = str | int


@dataclass(frozen=True)
class BatchError:
    """Why one item failed: the exception's type and message, never a secret."""

    type: str
    message: str
    status_code: int | None = None
    request_id: str | None = None
    #: The exception itself (``None`` for an error read back from a resume file).
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_exception(cls, exc: BaseException) -> BatchError:
        status = getattr(exc, "status_code", None)
        request_id = getattr(exc, "request_id", None)
        return cls(
            type=type(exc).__name__,
            message=str(exc) or type(exc).__name__,
            status_code=status if isinstance(status, int) else None,
            request_id=request_id if isinstance(request_id, str) else None,
            exception=exc,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message": self.message,
            "status_code": self.status_code,
            "request_id": self.request_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchError:
        return cls(
            type=str(data.get("type", "Error")),
            message=str(data.get("message", "")),
            status_code=data.get("status_code"),
            request_id=data.get("request_id"),
        )


@dataclass
class BatchItem(Generic[ResultT]):
    """One item's outcome: ``result`` or ``error``, its id, position and latency."""

    index: int
    id: ItemId
    result: ResultT | None = None
    error: BatchError | None = None
    #: Seconds the call took in this run (``None`` if resumed or never run).
    latency: float | None = None
    #: True when the result was read back from the resume file instead of being sent.
    resumed: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and (self.resumed or self.latency is not None)


def _percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


@dataclass(frozen=True)
class BatchSummary:
    """Counts and timings of one run of a batch."""

    count: int
    ok: int
    failed: int
    #: Items answered by the resume file, not sent in this run.
    resumed: int
    #: Items never run (only after ``fail_fast`` stopped the batch).
    not_run: int
    wall_time: float
    #: Items finished in this run per second of wall time.
    throughput: float
    latency_p50: float | None
    latency_p95: float | None
    latency_p99: float | None
    #: Sum of ``usage.total_tokens`` over this run's results (``None`` if none report it).
    total_tokens: int | None = None

    def __str__(self) -> str:
        text = (
            f"{self.count} items: {self.ok} ok, {self.failed} failed"
            + (f", {self.resumed} resumed" if self.resumed else "")
            + (f", {self.not_run} not run" if self.not_run else "")
            + f" in {self.wall_time:.2f}s ({self.throughput:.1f} items/s"
        )
        if self.total_tokens is not None and self.wall_time > 0:
            text += f", {self.total_tokens / self.wall_time:.0f} tokens/s"
        return (
            text + f"); latency p50 {_fmt_seconds(self.latency_p50)}, "
            f"p95 {_fmt_seconds(self.latency_p95)}, p99 {_fmt_seconds(self.latency_p99)}"
        )


def _total_tokens(items: Iterable[BatchItem[Any]]) -> int | None:
    total: int | None = None
    for item in items:
        usage = getattr(item.result, "usage", None)
        if usage is None and isinstance(item.result, dict):
            usage = item.result.get("usage")
        tokens = usage.get("total_tokens") if isinstance(usage, dict) else None
        if tokens is None:
            tokens = getattr(usage, "total_tokens", None)
        if isinstance(tokens, int):
            total = (total or 0) + tokens
    return total


class BatchResult(Generic[ResultT]):
    """The outcome of a batch: one :class:`BatchItem` per input, in input order.

    ``results`` lists the answers (``None`` where an item failed), ``errors`` the failed
    items, ``summary`` the counts and timings. Iterating yields the items.
    """

    def __init__(self, items: list[BatchItem[ResultT]], summary: BatchSummary) -> None:
        self.items = items
        self.summary = summary

    @property
    def results(self) -> list[ResultT | None]:
        return [item.result for item in self.items]

    @property
    def errors(self) -> list[BatchItem[ResultT]]:
        return [item for item in self.items if item.error is not None]

    @property
    def ok(self) -> bool:
        """True when every item has a result."""
        return all(item.ok for item in self.items)

    def raise_for_errors(self) -> None:
        """Raise the first failed item's exception (or a RuntimeError naming it)."""
        for item in self.items:
            if item.error is not None:
                if item.error.exception is not None:
                    raise item.error.exception
                raise RuntimeError(
                    f"item {item.id!r} failed: {item.error.type}: {item.error.message}"
                )

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[BatchItem[ResultT]]:
        return iter(self.items)

    def __getitem__(self, index: int) -> BatchItem[ResultT]:
        return self.items[index]

    def __repr__(self) -> str:
        return f"<BatchResult {self.summary}>"

    def _repr_html_(self) -> str:
        import html

        failed = [(item.id, item.error) for item in self.items if item.error is not None]
        rows = "".join(
            f"<tr><td>{html.escape(str(item_id))}</td>"
            f"<td>{html.escape(error.type + ': ' + error.message[:200])}</td></tr>"
            for item_id, error in failed[:10]
        )
        table = (
            f"<table><tr><th>id</th><th>error</th></tr>{rows}</table>"
            + (f"<i>... and {len(failed) - 10} more</i>" if len(failed) > 10 else "")
            if rows
            else ""
        )
        return f"<b>BatchResult</b>: {html.escape(str(self.summary))}{table}"


def _encode_result(result: Any) -> Any:
    to_dict = getattr(result, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return result


def _load_resume_file(path: str) -> dict[ItemId, dict[str, Any]]:
    """Last record per id; a torn last line (a crash mid-write) is ignored."""
    records: dict[ItemId, dict[str, Any]] = {}
    if not os.path.exists(path):
        return records
    with open(path, encoding="utf-8") as handle:
        lines = handle.readlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if number == len(lines):
                continue  # torn final line: that item simply runs again
            raise ValueError(
                f"{path}:{number} is not valid JSON; is this a batch resume file? "
                "Remove the line (or the file) to go on."
            ) from None
        if not isinstance(record, dict) or "id" not in record:
            raise ValueError(f"{path}:{number} has no 'id': not a batch resume file.")
        records[record["id"]] = record
    return records


def _open_for_append(path: str) -> IO[str]:
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed by run_batch
    if handle.tell() > 0:
        handle.seek(handle.tell() - 1)
        if handle.read(1) != "\n":
            handle.write("\n")  # end a torn line so the next record starts clean
    return handle


def _check_ids(ids: Sequence[ItemId] | None, count: int) -> list[ItemId]:
    if ids is None:
        return list(range(count))
    id_list = list(ids)
    if len(id_list) != count:
        raise ValueError(f"ids has {len(id_list)} entries but there are {count} items.")
    for value in id_list:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(f"Each id must be a str or an int (JSON-safe), not {value!r}.")
    if len(set(id_list)) != count:
        raise ValueError("ids must be unique: a resume file tells items apart by id.")
    return id_list


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


async def run_batch(
    call: Callable[[ItemT], Awaitable[ResultT]],
    items: Iterable[ItemT],
    *,
    concurrency: int = 32,
    fail_fast: bool = False,
    progress: bool = False,
    resume_file: str | os.PathLike[str] | None = None,
    ids: Sequence[ItemId] | None = None,
    retry_failed: bool = True,
    decode: Callable[[Any], ResultT] | None = None,
) -> BatchResult[ResultT]:
    """Run ``await call(item)`` for every item with at most ``concurrency`` in flight.

    Results come back in input order. An exception from one call is recorded on its item
    (``BatchItem.error``) and the batch goes on; with ``fail_fast=True`` the first one
    cancels the calls in flight and is raised. Retries are the call's business (the
    client's ``max_retries``).

    ``resume_file``: a JSONL file where each finished item is appended (id and result or
    error). Items whose id already has a result there are not sent again; their stored
    result (JSON, or ``decode(json)``) is returned with ``resumed=True``. Failed items are
    sent again unless ``retry_failed=False``. ``ids`` names the items (default: their
    index); pass stable ids when the item list can change between runs.

    ``progress=True`` shows a tqdm bar (``pip install 'odsc-llm[batch]'``).
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive int, not {concurrency!r}.")
    item_list = list(items)
    id_list = _check_ids(ids, len(item_list))
    slots: list[BatchItem[ResultT]] = [
        BatchItem(index=i, id=item_id) for i, item_id in enumerate(id_list)
    ]

    path = os.fspath(resume_file) if resume_file is not None else None
    pending: list[int] = []
    if path is not None:
        records = _load_resume_file(path)
        for slot in slots:
            stored = records.get(slot.id)
            if stored is None:
                pending.append(slot.index)
            elif stored.get("ok"):
                raw = stored.get("result")
                slot.result = decode(raw) if decode is not None else raw
                slot.resumed = True
            elif retry_failed:
                pending.append(slot.index)
            else:
                slot.error = BatchError.from_json(stored.get("error") or {})
                slot.resumed = True
    else:
        pending = list(range(len(slots)))

    resumed = len(slots) - len(pending)
    bar = _make_progress(progress, len(slots), resumed)
    sink = _open_for_append(path) if path is not None else None
    failure: list[BaseException] = []
    queue = iter(pending)

    def record(slot: BatchItem[ResultT]) -> None:
        if sink is not None:
            line: dict[str, Any] = {"id": slot.id, "ok": slot.error is None}
            if slot.error is None:
                line["result"] = _encode_result(slot.result)
                request_id = getattr(slot.result, "request_id", None)
                if isinstance(request_id, str):
                    line["request_id"] = request_id
            else:
                line["error"] = slot.error.to_json()
            sink.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
            sink.flush()
        if bar is not None:
            bar.update(1)

    async def worker() -> None:
        for index in queue:  # one shared iterator: each index goes to one worker
            if failure:
                return
            slot = slots[index]
            started = time.perf_counter()
            try:
                result = await call(item_list[index])
            except Exception as exc:
                slot.latency = time.perf_counter() - started
                slot.error = BatchError.from_exception(exc)
                record(slot)
                if fail_fast:
                    failure.append(exc)
                    raise
                continue
            slot.latency = time.perf_counter() - started
            slot.result = result
            record(slot)

    started = time.perf_counter()
    try:
        if pending:
            workers = [
                asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(pending)))
            ]
            try:
                await asyncio.gather(*workers)
            except BaseException:
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                raise
    finally:
        if sink is not None:
            sink.close()
        if bar is not None:
            bar.close()
    wall_time = time.perf_counter() - started

    latencies = sorted(s.latency for s in slots if s.latency is not None and not s.resumed)
    ran = len(latencies)
    summary = BatchSummary(
        count=len(slots),
        ok=sum(1 for s in slots if s.ok),
        failed=sum(1 for s in slots if s.error is not None),
        resumed=resumed,
        not_run=len(pending) - ran,
        wall_time=wall_time,
        throughput=ran / wall_time if wall_time > 0 else 0.0,
        latency_p50=_percentile(latencies, 50),
        latency_p95=_percentile(latencies, 95),
        latency_p99=_percentile(latencies, 99),
        total_tokens=_total_tokens(s for s in slots if s.error is None and not s.resumed),
    )
    return BatchResult(slots, summary)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop.

    With no loop running in this thread (scripts, jobs) it uses ``asyncio.run``. Inside a
    running loop (Jupyter) it runs the coroutine on a fresh loop in a worker thread and
    waits for it, so it never calls ``asyncio.run`` on a running loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="odsc-llm-batch") as pool:
        return pool.submit(asyncio.run, coro).result()


def run_batch_sync(
    call: Callable[[ItemT], Awaitable[ResultT]],
    items: Iterable[ItemT],
    *,
    concurrency: int = 32,
    fail_fast: bool = False,
    progress: bool = False,
    resume_file: str | os.PathLike[str] | None = None,
    ids: Sequence[ItemId] | None = None,
    retry_failed: bool = True,
    decode: Callable[[Any], ResultT] | None = None,
) -> BatchResult[ResultT]:
    """:func:`run_batch` from sync code (works in Jupyter too, see :func:`run_sync`).

    ``call`` is still an async function; it runs on the loop this function drives, so
    create async clients inside it (or in a coroutine), not on another loop.
    """
    return run_sync(
        run_batch(
            call,
            items,
            concurrency=concurrency,
            fail_fast=fail_fast,
            progress=progress,
            resume_file=resume_file,
            ids=ids,
            retry_failed=retry_failed,
            decode=decode,
        )
    )


# -- client.completions.batch / client.chat.completions.batch ---------------------------


class BatchOptions(TypedDict, total=False):
    """How a batch runs (see :func:`run_batch`); the rest of the keywords go to ``create``."""

    concurrency: int
    fail_fast: bool
    progress: bool
    resume_file: str | os.PathLike[str] | None
    ids: Sequence[ItemId] | None
    retry_failed: bool


class CompletionBatchParams(CompletionCreateParams, BatchOptions, total=False):
    """Keywords of ``completions.batch``: batch options plus ``completions.create``'s."""


class ChatCompletionBatchParams(ChatCompletionCreateParams, BatchOptions, total=False):
    """Keywords of ``chat.completions.batch``: batch options plus ``create``'s."""


_BATCH_KEYS = frozenset(BatchOptions.__optional_keys__)
ModelT = TypeVar("ModelT", bound=BaseModel)


async def abatch(
    create: Callable[..., Awaitable[ModelT]],
    key: str,
    inputs: Iterable[Any],
    model: type[ModelT],
    params: Any,
) -> BatchResult[ModelT]:
    """Run ``await create(**{key: value}, **params)`` for each input as one batch.

    ``params`` mixes :class:`BatchOptions` keys (for :func:`run_batch`) with the
    parameters of ``create``, which apply to every item. Resumed results are decoded with
    ``model.model_validate``.
    """
    call_params = {k: v for k, v in dict(params).items() if k not in _BATCH_KEYS}
    options = {k: v for k, v in dict(params).items() if k in _BATCH_KEYS}
    if "stream" in call_params:
        raise TypeError("batch() does not stream: drop stream=; each item is one request.")

    async def call(value: Any) -> ModelT:
        return await create(**{key: value}, **call_params)

    return await run_batch(call, inputs, decode=model.model_validate, **options)


def _async_twin(client: Client) -> AsyncClient:
    """An AsyncClient with the sync client's deployment, auth and settings."""
    from ._client import AsyncClient

    return AsyncClient(**client._settings())


def batch_from_sync(
    client: Client,
    resource: str,
    key: str,
    inputs: Iterable[Any],
    model: type[ModelT],
    params: Any,
) -> BatchResult[ModelT]:
    """The sync ``batch``: an AsyncClient twin of ``client`` runs :func:`abatch`.

    ``resource`` is ``"completions"`` or ``"chat.completions"``. Works inside a running
    event loop too (see :func:`run_sync`). The twin does not reuse an ``http_client``
    passed to ``client``: it opens (and closes) its own connections.
    """
    items = list(inputs)

    async def main() -> BatchResult[ModelT]:
        async with _async_twin(client) as aclient:
            target: Any = aclient
            for name in resource.split("."):
                target = getattr(target, name)
            return await abatch(target.create, key, items, model, params)

    return run_sync(main())
