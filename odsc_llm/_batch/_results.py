"""What a batch gives back: per-item outcomes, the run's summary, the result container."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .._errors import OdscLLMError

__all__ = [
    "BatchError",
    "BatchItem",
    "BatchResult",
    "BatchResumeFileError",
    "BatchSummary",
    "ItemId",
]

ResultT = TypeVar("ResultT")

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


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
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
    #: Attempts sent again by the batch's own retries (see ``max_retries``).
    retries: int = 0
    #: Attempts answered 429 (rate limit) and 503 (model server full).
    throttled_429: int = 0
    throttled_503: int = 0
    #: The concurrency limit and request rate (requests/s, ``None``: unpaced) the
    #: controller ended with, and how often it cut them.
    final_concurrency: int | None = None
    #: The most attempts that were in flight at once.
    peak_in_flight: int = 0
    final_rate: float | None = None
    cuts: int = 0

    def __str__(self) -> str:
        text = (
            f"{self.count} items: {self.ok} ok, {self.failed} failed"
            + (f", {self.resumed} resumed" if self.resumed else "")
            + (f", {self.not_run} not run" if self.not_run else "")
            + f" in {self.wall_time:.2f}s ({self.throughput:.1f} items/s"
        )
        if self.total_tokens is not None and self.wall_time > 0:
            text += f", {self.total_tokens / self.wall_time:.0f} tokens/s"
        if self.retries or self.throttled_429 or self.throttled_503:
            text += (
                f", {self.retries} retries, {self.throttled_429} x 429, {self.throttled_503} x 503"
            )
        return (
            text + f"); latency p50 {_fmt_seconds(self.latency_p50)}, "
            f"p95 {_fmt_seconds(self.latency_p95)}, p99 {_fmt_seconds(self.latency_p99)}"
        )


def total_tokens(items: Iterable[BatchItem[Any]]) -> int | None:
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


class BatchResumeFileError(OdscLLMError, OSError):
    """Writing the resume file failed (a full disk, a file-size limit...); the batch
    stopped sending new items, let those in flight finish, and raised this.

    ``result`` holds every item of this run (results and errors, ``None`` where an item
    was never sent); ``saved`` counts the items of this run written to ``path`` before the
    failure (the file holds all of those, and everything of earlier runs). ``errno``,
    ``strerror`` and ``__cause__`` are the write's own ``OSError``, so ``except OSError``
    still catches it.
    """

    def __init__(
        self, message: str, *, result: BatchResult[Any], path: str, saved: int, cause: OSError
    ) -> None:
        super().__init__(message)
        self.result = result
        self.path = path
        self.saved = saved
        self.message = message
        self.errno = cause.errno
        self.strerror = cause.strerror
        self.filename = path

    def __str__(self) -> str:
        # OSError's own str() would be "[Errno 28] ...: path", without what to do.
        return self.message


BatchResumeFileError.__module__ = "odsc_llm"  # the public path, in tracebacks
