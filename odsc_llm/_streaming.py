"""Typed streams of Server-Sent Events: ``Stream`` (sync) and ``AsyncStream``.

A stream yields typed chunks until ``data: [DONE]``. Anything else is an error, never a
quiet end: an error event (vLLM sends ``data: {"error": ...}`` then ``[DONE]``), a chunk
that is not JSON, a broken connection, a stall, or an end without ``[DONE]`` (OCI reports
failures after the 200 only in an HTTP trailer, which httpx drops).

The body is read as bytes and fed to httpx-sse's decoders (``_sse.SSEFeed``), so that
every read, comments and keep-alive lines included, passes our clock: the first content
event must come before ``first_event_deadline``, and each later one within
``idle_timeout`` of the previous (comments and blank lines do not count). At ``[DONE]``
the stream stops reading at once and releases the connection: back to the pool when the
rest of the body is already here, else closed.

Leaving a ``with`` block, breaking out of the loop, ``close()`` or garbage collection
releases the connection, and calls ``on_close`` exactly once. The event handling is
shared (``_EventHandler``); the two classes differ only in the I/O loop.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterator
from time import monotonic
from typing import Any, Generic, TextIO, TypeVar, cast

import httpx

from ._accumulate import accumulate, chunk_reasoning, chunk_text
from ._constants import MAX_ERROR_BODY_BYTES
from ._sse import _EventHandler, rest_is_here
from .types.chat import ChatCompletion, ChatCompletionChunk
from .types.completion import Completion

__all__ = ["AsyncStream", "Stream", "close_soon"]

ChunkT = TypeVar("ChunkT", bound="Completion | ChatCompletionChunk")

# After [DONE], read at most this many more pieces of the body (each already here) to give
# the connection back to the pool; a server that keeps talking gets it closed instead.
_MAX_READS_AFTER_DONE = 16
# Async only: how long a read after [DONE] may take. It only lets the event loop hand
# over bytes it already received (a separate TCP segment with the body's end); a server
# that sends nothing more costs this once, then its connection is closed.
_ASYNC_DRAIN_GRACE = 0.005

# Strong references to fire-and-forget close tasks, so they are not collected mid-way.
_background_tasks: set[asyncio.Task[None]] = set()


def _sync_chunks(h: _EventHandler[ChunkT]) -> Generator[ChunkT, None, None]:
    """The sync I/O loop: a module function, so the generator holds no ``Stream``."""
    response = h.response
    try:
        media = h.check_content_type()
        if media is not None:
            raise h.not_sse_error(media, _read_head(h))
        reads = response.iter_bytes()
        feed = h.feed
        seen = h.events
        idle = h.idle_timeout
        deadline = h.first_event_deadline
        try:
            # The hot loop (chunks/s matter): one clock read per network read.
            for raw in reads:
                if deadline is not None and monotonic() > deadline:
                    raise h.timeout_error()
                count = len(seen)
                yield from feed(raw)
                if len(seen) != count:
                    # From when the reader asks again: its own pace is not a stall.
                    deadline = None if idle is None else monotonic() + idle
                if h.ended:
                    break
            else:
                yield from h.feed_end()
        except httpx.RequestError as exc:
            raise h.transport_error(exc) from exc
        h.raise_unless_done()
        for _ in range(_MAX_READS_AFTER_DONE):
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


class Stream(Generic[ChunkT]):
    """A synchronous stream of typed chunks. Iterate it once; use it as a context manager.

    ``idle_timeout`` bounds the seconds between two content events, and
    ``first_event_deadline`` (a ``time.monotonic()`` instant) the arrival of the first;
    a stall raises :class:`~odsc_llm.StreamTimeoutError`. Each read is also bounded by
    the httpx read timeout. ``on_close`` is called once when the connection is released.
    """

    response: httpx.Response

    def __init__(
        self,
        response: httpx.Response,
        cast_to: type[ChunkT],
        *,
        idle_timeout: float | None = None,
        first_event_deadline: float | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.response = response
        self._handler = _EventHandler(
            response, cast_to, idle_timeout, first_event_deadline, on_close
        )
        self._iterator = _sync_chunks(self._handler)
        self._first: ChunkT | None = None

    @property
    def request_id(self) -> str | None:
        """The ``opc-request-id`` of this stream's answer."""
        return self._handler.request_id

    def _prime(self) -> None:
        """Read until the first chunk is parsed; iteration yields it first.

        Raises the stream's usual errors; ``before_first_event`` tells a retry it may.
        """
        if self._first is None and not self._handler.events:
            self._first = next(self._iterator, None)

    def __iter__(self) -> Iterator[ChunkT]:
        # A generator wrapper: when a `for` loop breaks and drops it, the `finally` runs
        # and the connection is released at once (also when the break comes on the
        # chunk read ahead by _prime, before the inner generator was resumed).
        try:
            first, self._first = self._first, None
            if first is not None:
                yield first
            yield from self._iterator
        finally:
            self.close()

    def __next__(self) -> ChunkT:
        first, self._first = self._first, None
        return first if first is not None else self._iterator.__next__()

    def __enter__(self) -> Stream[ChunkT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._first = None
        self._iterator.close()
        self._handler.close_sync()

    def __del__(self) -> None:
        # Dropped without being read to the end or closed: give the connection back now
        # (an unstarted generator would never run its `finally`).
        handler = getattr(self, "_handler", None)
        if handler is not None and not handler.released:
            handler.close_sync()

    def text(self) -> Iterator[str]:
        """The new text of each chunk (choice 0), skipping chunks without any."""
        for chunk in self:
            piece = chunk_text(chunk)
            if piece:
                yield piece

    def reasoning_text(self) -> Iterator[str]:
        """The new thinking of each chunk of a reasoning model (choice 0); ``text()``
        gives only the answer."""
        for chunk in self:
            piece = chunk_reasoning(chunk)
            if piece:
                yield piece

    def print(self, *, end: str = "\n", file: TextIO | None = None) -> str:
        """Write the text to ``file`` (stdout) as it arrives, flushing each piece (Jupyter
        shows it live); returns the whole text."""
        out = sys.stdout if file is None else file
        pieces = []
        for piece in self.text():
            out.write(piece)
            out.flush()
            pieces.append(piece)
        out.write(end)
        out.flush()
        return "".join(pieces)

    def until_done(self) -> Stream[ChunkT]:
        """Read the stream to its end (raising on failure); returns self."""
        for _ in self:
            pass
        return self

    def get_final_completion(self) -> Completion | ChatCompletion:
        """Read to the end and join all chunks into one answer (tool calls joined by index)."""
        self.until_done()
        return accumulate(self._handler.chunks(), request_id=self.request_id)


if sys.version_info >= (3, 11):

    async def _next(reads: AsyncIterator[bytes], seconds: float) -> bytes:
        """The next read, cancelled after ``seconds`` (raises ``TimeoutError``)."""
        async with asyncio.timeout(seconds):
            return await reads.__anext__()

else:  # pragma: no cover - Python 3.10

    async def _next(reads: AsyncIterator[bytes], seconds: float) -> bytes:
        """The next read, cancelled after ``seconds`` (raises ``TimeoutError``)."""
        return await asyncio.wait_for(reads.__anext__(), seconds)


async def _async_chunks(h: _EventHandler[ChunkT]) -> AsyncIterator[ChunkT]:
    """The async I/O loop: as ``_sync_chunks``, each read bounded by the next deadline."""
    response = h.response
    try:
        media = h.check_content_type()
        if media is not None:
            raise h.not_sse_error(media, await _aread_head(h))
        reads = response.aiter_bytes().__aiter__()
        feed = h.feed
        seen = h.events
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
                count = len(seen)
                for chunk in feed(raw):
                    yield chunk
                if len(seen) != count:
                    deadline = None if idle is None else monotonic() + idle
                if h.ended:
                    break
        except httpx.RequestError as exc:
            raise h.transport_error(exc) from exc
        h.raise_unless_done()
        for _ in range(_MAX_READS_AFTER_DONE):
            try:
                await _next(reads, _ASYNC_DRAIN_GRACE)
            except (StopAsyncIteration, asyncio.TimeoutError, httpx.RequestError):
                break  # ended (reusable), nothing more at hand, or broke: done anyway
    finally:
        await h.close_async()


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


class AsyncStream(Generic[ChunkT]):
    """An asynchronous stream of typed chunks: ``async for``, ``async with``, ``aclose()``.

    Takes the same keywords as :class:`Stream`; each read is bounded by the next deadline.
    """

    response: httpx.Response

    def __init__(
        self,
        response: httpx.Response,
        cast_to: type[ChunkT],
        *,
        idle_timeout: float | None = None,
        first_event_deadline: float | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.response = response
        self._handler = _EventHandler(
            response, cast_to, idle_timeout, first_event_deadline, on_close
        )
        self._iterator = _async_chunks(self._handler)
        self._first: ChunkT | None = None

    @property
    def request_id(self) -> str | None:
        """The ``opc-request-id`` of this stream's answer."""
        return self._handler.request_id

    async def _aprime(self) -> None:
        """Read until the first chunk is parsed; iteration yields it first.

        Raises the stream's usual errors; ``before_first_event`` tells a retry it may.
        """
        if self._first is None and not self._handler.events:
            self._first = await _anext_or_none(self._iterator)

    async def __aiter__(self) -> AsyncIterator[ChunkT]:
        # `break` drops this wrapper generator; the event loop's async-generator finalizer
        # then closes it, and the `finally` releases the connection (the inner generator
        # is still referenced by the stream, so nothing else would close it).
        try:
            first, self._first = self._first, None
            if first is not None:
                yield first
            async for chunk in self._iterator:
                yield chunk
        finally:
            await self.aclose()

    async def __anext__(self) -> ChunkT:
        first, self._first = self._first, None
        return first if first is not None else await self._iterator.__anext__()

    async def __aenter__(self) -> AsyncStream[ChunkT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        self._first = None
        await cast(Any, self._iterator).aclose()
        await self._handler.close_async()

    close = aclose

    async def text(self) -> AsyncIterator[str]:
        """The new text of each chunk (choice 0), skipping chunks without any."""
        async for chunk in self:
            piece = chunk_text(chunk)
            if piece:
                yield piece

    async def reasoning_text(self) -> AsyncIterator[str]:
        """The new thinking of each chunk of a reasoning model (choice 0)."""
        async for chunk in self:
            piece = chunk_reasoning(chunk)
            if piece:
                yield piece

    async def print(self, *, end: str = "\n", file: TextIO | None = None) -> str:
        """Write the text to ``file`` (stdout) as it arrives, flushing each piece (Jupyter
        shows it live); returns the whole text."""
        out = sys.stdout if file is None else file
        pieces = []
        async for piece in self.text():
            out.write(piece)
            out.flush()
            pieces.append(piece)
        out.write(end)
        out.flush()
        return "".join(pieces)

    async def until_done(self) -> AsyncStream[ChunkT]:
        """Read the stream to its end (raising on failure); returns self."""
        async for _ in self:
            pass
        return self

    async def get_final_completion(self) -> Completion | ChatCompletion:
        """Read to the end and join all chunks into one answer (tool calls joined by index)."""
        await self.until_done()
        return accumulate(self._handler.chunks(), request_id=self.request_id)

    def __del__(self) -> None:
        # Dropped without being read to the end or closed: release the permit now and
        # close the connection on the running loop (``__del__`` cannot await).
        handler = getattr(self, "_handler", None)
        if handler is None or handler.released:
            return
        handler.release()
        if not self.response.is_closed:
            close_soon(self.response.aclose)


async def _anext_or_none(iterator: AsyncIterator[ChunkT]) -> ChunkT | None:
    """The next item of ``iterator``, or None at its end."""
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return None


def close_soon(closer: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``closer()`` on the running event loop, if any (for ``__del__``, which can't await)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if not loop.is_closed():
        task = loop.create_task(closer())
        _background_tasks.add(task)
        task.add_done_callback(_background_tasks.discard)
