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

    def _uncancel(task: asyncio.Task[Any]) -> None:
        task.uncancel()

else:  # pragma: no cover - Python 3.10

    async def _next(reads: AsyncIterator[bytes], seconds: float) -> bytes:
        """The next read, cancelled after ``seconds`` (raises ``TimeoutError``)."""
        return await asyncio.wait_for(reads.__anext__(), seconds)

    def _uncancel(task: asyncio.Task[Any]) -> None:
        pass  # no cancellation count to restore before 3.11


async def async_chunks(h: _EventHandler[ChunkT]) -> AsyncIterator[ChunkT]:
    """The async I/O loop: as ``sync_chunks``, each read bounded by the next deadline."""
    response = h.response
    try:
        media = h.check_content_type()
        if media is not None:
            raise h.not_sse_error(media, await _aread_head(h))
        reads = response.aiter_bytes().__aiter__()
        feed = h.feed
        parts = h.parts
        idle = h.idle_timeout
        deadline = h.first_event_deadline
        try:
            while True:
                try:
                    if deadline is None:
                        raw = await reads.__anext__()
                    else:
                        remaining = deadline - monotonic()
                        if remaining <= 0:
                            raise h.timeout_error()
                        raw = await _next(reads, remaining)
                except StopAsyncIteration:
                    raw = None
                except asyncio.TimeoutError:
                    raise h.timeout_error() from None
                if raw is None:
                    for chunk in h.feed_end():
                        yield chunk
                    break
                count = parts.count
                for chunk in feed(raw):
                    yield chunk
                if parts.count != count:
                    deadline = None if idle is None else monotonic() + idle
                if h.ended:
                    break
        except httpx.RequestError as exc:
            raise h.transport_error(exc) from exc
        h.raise_unless_done()
        if h.closing is None:
            h.closing = spawn(_release_after_done(h, reads))
    finally:
        await h.close_async()  # waits for the release above, if it began


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
