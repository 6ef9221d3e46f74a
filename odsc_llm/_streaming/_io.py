"""The I/O loops of the streams: bytes in, chunks out, the connection given back at the end.

``sync_chunks`` and ``async_chunks`` are module-level generators (they hold no
``Stream``), each read bounded by the stream's clock (see ``_streaming``). At
``[DONE]`` the rest of the body is read only if it is already here (sync), or within a
short grace (async), so the connection goes back to the pool; else it is closed.

The async release after ``[DONE]`` runs as one task (:func:`_release_after_done`) that
the reader's cancellation cannot reach, and its grace ends a read only while httpx has
not begun closing the response: cancelled inside ``Response.aclose()``, httpx marks the
response closed but httpcore's pool never forgets the request, and the connection stays
ACTIVE for good.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Generator
from time import monotonic
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from .._constants import MAX_ERROR_BODY_BYTES, STREAM_DRAIN_GRACE, STREAM_READS_AFTER_DONE
from ..types.chat import ChatCompletionChunk
from ..types.completion import Completion
from ._release import hold, spawn
from ._sse import _EventHandler, rest_is_here

if TYPE_CHECKING:  # only for the bound: the Responses types load when used
    from ..types.responses import ResponseStreamEvent

__all__ = ["async_chunks", "sync_chunks"]

ChunkT = TypeVar("ChunkT", bound="Completion | ChatCompletionChunk | ResponseStreamEvent")


def sync_chunks(h: _EventHandler[ChunkT]) -> Generator[ChunkT, None, None]:
    """The sync I/O loop: a module function, so the generator holds no ``Stream``."""
    response = h.response
    try:
        media = h.check_content_type()
        if media is not None:
            raise h.not_sse_error(media, _read_head(h))
        reads = response.iter_bytes()
        hold(h, reads)  # finalized in a collection, httpcore's generators take its locks
        feed = h.feed
        parts = h.parts
        idle = h.idle_timeout
        deadline = h.first_event_deadline
        try:
            # The hot loop (chunks/s matter): one clock read per network read.
            for raw in reads:
                if deadline is not None and monotonic() > deadline:
                    raise h.timeout_error()
                count = parts.count
                yield from feed(raw)
                if parts.count != count:
                    # From when the reader asks again: its own pace is not a stall.
                    deadline = None if idle is None else monotonic() + idle
                if h.ended:
                    break
            else:
                yield from h.feed_end()
        except httpx.RequestError as exc:
            raise h.transport_error(exc) from exc
        h.raise_unless_done()
        for _ in range(STREAM_READS_AFTER_DONE):
            if not rest_is_here(response):
                break
            try:
                next(reads)
            except (StopIteration, httpx.RequestError):
                break  # the body ended (the connection is reusable) or broke: done anyway
    finally:
        h.close_sync()


def _read_head(h: _EventHandler[Any]) -> bytes:
    """At most ``MAX_ERROR_BODY_BYTES`` of a body that is not SSE (to build the message)."""
    head = bytearray()
    deadline = h.first_event_deadline
    try:
        for piece in h.response.iter_bytes():
            head += piece
            if len(head) >= MAX_ERROR_BODY_BYTES or (
                deadline is not None and monotonic() > deadline
            ):
                break
    except httpx.RequestError:
        pass  # what arrived is enough for the message
    return bytes(head[:MAX_ERROR_BODY_BYTES])


if sys.version_info >= (3, 11):

    async def _next(reads: AsyncIterator[bytes], seconds: float) -> bytes:
        """The next read, cancelled after ``seconds`` (raises ``TimeoutError``)."""
        async with asyncio.timeout(seconds):
            return await reads.__anext__()

    def _uncancel(task: asyncio.Task[Any]) -> int:
        return task.uncancel()

    def _cancelling(task: asyncio.Task[Any]) -> int:
        return task.cancelling()

else:  # pragma: no cover - Python 3.10

    async def _next(reads: AsyncIterator[bytes], seconds: float) -> bytes:
        """The next read, cancelled after ``seconds`` (raises ``TimeoutError``)."""
        return await asyncio.wait_for(reads.__anext__(), seconds)

    def _uncancel(task: asyncio.Task[Any]) -> int:
        return 0  # no cancellation count before 3.11: an expired deadline's is taken as ours

    def _cancelling(task: asyncio.Task[Any]) -> int:
        return 0


async def async_chunks(h: _EventHandler[ChunkT]) -> AsyncIterator[ChunkT]:
    """The async I/O loop: as ``sync_chunks``, each read bounded by the next deadline."""
    response = h.response
    watchdog: _Watchdog | None = None
    try:
        media = h.check_content_type()
        if media is not None:
            raise h.not_sse_error(media, await _aread_head(h))
        reads = response.aiter_bytes().__aiter__()
        feed = h.feed
        parts = h.parts
        idle = h.idle_timeout
        deadline = h.first_event_deadline
        watchdog = _Watchdog()
        try:
            while True:
                if deadline is not None:
                    if monotonic() >= deadline:
                        raise h.timeout_error()
                    watchdog.arm(deadline)
                try:
                    raw = await reads.__anext__()
                except StopAsyncIteration:
                    raw = None
                except asyncio.CancelledError:
                    if watchdog.expired_here():
                        raise h.timeout_error() from None
                    raise
                finally:
                    watchdog.reading = False
                if raw is None:
                    for chunk in h.feed_end():
                        yield chunk
                    break
                count = parts.count
                for chunk in feed(raw):
                    yield chunk
                # Not kept while the next read waits: with 1,000 streams open, a chunk
                # model each is ~2 MB.
                chunk = raw = None  # type: ignore[assignment]
                if parts.count != count:
                    deadline = None if idle is None else monotonic() + idle
                if h.ended:
                    break
        except httpx.RequestError as exc:
            raise h.transport_error(exc) from exc
        h.raise_unless_done()
        if h.closing is None and not await _read_rest_at_hand(h, reads):
            h.closing = spawn(_release_after_done(h, reads))
    finally:
        if watchdog is not None:
            watchdog.stop()
        await h.close_async()  # waits for the release above, if it began


class _Watchdog:
    """The deadline of a stream's reads: one timer per stream, not one per read.

    ``asyncio.timeout()`` around each read schedules a timer and cancels it when the read
    returns; asyncio leaves cancelled timers in its heap until they are due (or until
    they are half of it), so 1,000 open streams of 50 reads kept some 10 KB each there
    (issue 27). This timer is re-armed only when it fires: if the deadline moved on
    meanwhile, it sleeps again; if a read is still waiting past it, it cancels the task
    (as ``asyncio.timeout`` does, and told apart from other cancellations the same way).
    """

    __slots__ = ("cancelling", "deadline", "due", "expired", "handle", "loop", "reading", "task")

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.task: asyncio.Task[Any] | None = None
        self.handle: asyncio.TimerHandle | None = None
        self.due = 0.0  # the deadline the handle was set for
        self.deadline = 0.0
        self.reading = False
        self.expired = False
        self.cancelling = 0

    def arm(self, deadline: float) -> None:
        """A read bounded by ``deadline`` (a ``time.monotonic()`` instant) begins."""
        self.deadline = deadline
        self.reading = True
        self.task = asyncio.current_task()
        if self.handle is None or self.due > deadline:
            self._schedule()

    def _schedule(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.due = self.deadline
        self.handle = self.loop.call_later(max(0.0, self.deadline - monotonic()), self._fire)

    def _fire(self) -> None:
        self.handle = None
        if not self.reading or self.task is None:
            return  # between reads: the next arm() sets a timer again
        if monotonic() < self.deadline:
            self._schedule()
            return
        self.expired = True
        self.cancelling = _cancelling(self.task)
        self.task.cancel()

    def expired_here(self) -> bool:
        """Whether a ``CancelledError`` is this deadline's (then it is taken back)."""
        if not self.expired:
            return False
        self.expired = False
        assert self.task is not None
        return _uncancel(self.task) <= self.cancelling

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None


async def _read_rest_at_hand(h: _EventHandler[Any], reads: AsyncIterator[bytes]) -> bool:
    """After ``[DONE]``: read the rest of the body while it is already here (the usual
    case: the chunked body's end comes with the last event); True when it ended.

    No read here can wait on the server, so no task, timer or shield is needed (each
    stream's release took a task, a shield and a timer: ~2.5 KB a stream while 1,000
    streams end together, and ~30 us of the loop's time); else the grace task does it.
    """
    for _ in range(STREAM_READS_AFTER_DONE):
        if not rest_is_here(h.response):
            return False
        try:
            await reads.__anext__()
        except StopAsyncIteration:
            return True  # the body ended: the connection is back in the pool
        except httpx.RequestError:
            return False  # broke: closed by the release, as any broken stream is
    return False


async def _release_after_done(h: _EventHandler[Any], reads: AsyncIterator[bytes]) -> None:
    """After ``[DONE]``: read what is left of the body within the grace, then close."""
    response = h.response
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    try:
        for _ in range(STREAM_READS_AFTER_DONE):
            timer = loop.call_later(STREAM_DRAIN_GRACE, _interrupt, task, response)
            try:
                await reads.__anext__()
            except (StopAsyncIteration, httpx.RequestError):
                break  # ended (reusable) or broke: done anyway
            except asyncio.CancelledError:
                # Only the grace (or the loop's shutdown) cancels this task: its waiters
                # are shielded. Nothing more was at hand: the connection gets closed.
                _uncancel(task)
                break
            finally:
                timer.cancel()
    finally:
        try:
            await response.aclose()  # nothing to do when the body's end closed it
        finally:
            h.release()


def _interrupt(task: asyncio.Task[Any], response: httpx.Response) -> None:
    # Once httpx has begun closing (it marks the response closed first, synchronously),
    # a cancellation would land half-way through: the close is let finish instead.
    if not response.is_closed:
        task.cancel()


async def _aread_head(h: _EventHandler[Any]) -> bytes:
    """As ``_read_head``, for the async stream (each read bounded by the deadline)."""
    head = bytearray()
    deadline = h.first_event_deadline
    reads = h.response.aiter_bytes().__aiter__()
    while len(head) < MAX_ERROR_BODY_BYTES:
        try:
            if deadline is None:
                piece = await reads.__anext__()
            else:
                remaining = deadline - monotonic()
                if remaining <= 0:
                    break
                piece = await _next(reads, remaining)
        except (StopAsyncIteration, asyncio.TimeoutError, httpx.RequestError):
            break  # what arrived is enough for the message
        head += piece
    return bytes(head[:MAX_ERROR_BODY_BYTES])
