"""Typed streams of Server-Sent Events: ``Stream`` (sync) and ``AsyncStream``.

A stream yields typed chunks until ``data: [DONE]``. Anything else is an error, never a
quiet end: an error event (vLLM sends ``data: {"error": ...}`` then ``[DONE]``), a chunk
that is not JSON, a broken connection, a stall, or an end without ``[DONE]`` (OCI reports
failures after the 200 only in an HTTP trailer, which httpx drops).

The body is read as bytes and fed to httpx-sse's decoders (``_feed.SSEFeed``), so that
every read, comments and keep-alive lines included, passes our clock: the first content
event must come before ``first_event_deadline``, and each later one within
``idle_timeout`` of the previous (comments and blank lines do not count). At ``[DONE]``
the stream stops reading at once and releases the connection: back to the pool when the
rest of the body is already here, else closed.

Leaving a ``with`` block, breaking out of the loop, ``close()`` or garbage collection
releases the connection, and calls ``on_close`` exactly once. The event handling is
shared (``_EventHandler``); the two classes differ only in the I/O loop. What they share
word for word is written once, in ``AsyncStream``: ``scripts/unasync.py`` writes the
``Stream`` twins of its ``unasync: begin source`` regions (CI checks they are current).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TextIO, TypeVar, cast

import httpx
from typing_extensions import Self

from ..types.chat import ChatCompletion, ChatCompletionChunk
from ..types.completion import Completion
from ._accumulate import chunk_reasoning, chunk_text
from ._io import async_chunks, sync_chunks
from ._release import close_soon, collecting, defer, watch
from ._sse import _EventHandler

if TYPE_CHECKING:  # only for the bound: the Responses types load when used
    from ..types.responses import ResponseStreamEvent

__all__ = ["AsyncStream", "Stream", "close_soon"]

ChunkT = TypeVar("ChunkT", bound="Completion | ChatCompletionChunk | ResponseStreamEvent")


class Stream(Generic[ChunkT]):
    """A synchronous stream of typed chunks. Iterate it once; use it as a context manager.

    ``idle_timeout`` bounds the seconds between two content events, and
    ``first_event_deadline`` (a ``time.monotonic()`` instant) the arrival of the first;
    a stall raises :class:`~odsc_llm.StreamTimeoutError`. Each read is also bounded by
    the httpx read timeout. ``on_close`` is called once when the connection is released.
    """

    # unasync: begin generated
    # Generated from the `unasync: begin source` region 1 of this file by
    # scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
    response: httpx.Response
    #: What turns the events into chunks (the Responses stream has its own).
    _handler_type: ClassVar[type[_EventHandler[Any]]] = _EventHandler

    def __init__(
        self,
        response: httpx.Response,
        cast_to: type[ChunkT],
        *,
        idle_timeout: float | None = None,
        first_event_deadline: float | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        watch()  # before any finalizer may need the closer thread
        self.response = response
        self._handler = self._handler_type(
            response, cast_to, idle_timeout, first_event_deadline, on_close
        )
        self._iterator = sync_chunks(self._handler)
        self._first: ChunkT | None = None

    @property
    def request_id(self) -> str | None:
        """The ``opc-request-id`` of this stream's answer."""
        return self._handler.request_id

    # unasync: end generated

    def _prime(self) -> None:
        """Read until the first chunk is parsed; iteration yields it first.

        Raises the stream's usual errors; ``before_first_event`` tells a retry it may.
        """
        if self._first is None and not self._handler.count:
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

    def __enter__(self) -> Self:
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
        # (an unstarted generator would never run its `finally`); from a garbage
        # collection, on the closer thread (see _release).
        handler = getattr(self, "_handler", None)
        if handler is not None and not handler.released:
            handler.close_sync()

    # unasync: begin generated
    # Generated from the `unasync: begin source` region 2 of this file by
    # scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
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

    def until_done(self) -> Self:
        """Read the stream to its end (raising on failure); returns self."""
        for _ in self:
            pass
        return self

    def get_final_completion(self) -> Completion | ChatCompletion:
        """Read to the end and join all chunks into one answer (tool calls joined by index).

        Raises :class:`~odsc_llm.StreamError` (with the ``partial_text``) when the stream
        failed, or was closed or broken out of before its end; a stream merely paused
        (``next()``, a loop not left) is read on to its end.
        """
        self.until_done()
        return self._handler.final_completion()

    # unasync: end generated


class _AsyncChunks(Generic[ChunkT]):
    """What ``async for chunk in stream`` iterates. Dropped before the stream's end (a
    ``break``, an error in the loop's body), it closes the stream, as the sync wrapper
    generator does. Not an async generator: the loop would finalize that in a task of
    its own, racing ``__aexit__``'s close and reading on meanwhile."""

    __slots__ = ("_next", "_stream")

    def __init__(self, stream: AsyncStream[ChunkT]) -> None:
        self._stream = stream
        self._next = stream._iterator.__anext__

    def __aiter__(self) -> _AsyncChunks[ChunkT]:
        return self

    def __anext__(self) -> Awaitable[ChunkT]:
        stream = self._stream
        if stream._closed is False and stream._first is None:
            # The hot path: the I/O generator's own awaitable, no coroutine of ours.
            return self._next()
        return stream.__anext__()  # the chunk read ahead by _aprime, or the end

    def __del__(self) -> None:
        stream = getattr(self, "_stream", None)
        if stream is not None:
            stream._abandon()


class AsyncStream(Generic[ChunkT]):
    """An asynchronous stream of typed chunks: ``async for``, ``async with``, ``aclose()``.

    Takes the same keywords as :class:`Stream`; each read is bounded by the next deadline.
    """

    # unasync: begin source rename=async_chunks:sync_chunks
    response: httpx.Response
    #: What turns the events into chunks (the Responses stream has its own).
    _handler_type: ClassVar[type[_EventHandler[Any]]] = _EventHandler

    def __init__(
        self,
        response: httpx.Response,
        cast_to: type[ChunkT],
        *,
        idle_timeout: float | None = None,
        first_event_deadline: float | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        watch()  # before any finalizer may need the closer thread
        self.response = response
        self._handler = self._handler_type(
            response, cast_to, idle_timeout, first_event_deadline, on_close
        )
        self._iterator = async_chunks(self._handler)
        self._first: ChunkT | None = None
        # unasync: async only
        self._closed = False  # by aclose() or a loop left early: no more chunks
        self._iterator_closed = False
        try:  # where a finalizer in another thread sends the close
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        # unasync: end

    @property
    def request_id(self) -> str | None:
        """The ``opc-request-id`` of this stream's answer."""
        return self._handler.request_id

    # unasync: end source

    async def _aprime(self) -> None:
        """Read until the first chunk is parsed; iteration yields it first.

        Raises the stream's usual errors; ``before_first_event`` tells a retry it may.
        """
        if self._first is None and not self._handler.count:
            self._first = await _anext_or_none(self._iterator)

    def __aiter__(self) -> AsyncIterator[ChunkT]:
        return _AsyncChunks(self)

    async def __anext__(self) -> ChunkT:
        if self._closed:
            raise StopAsyncIteration
        first, self._first = self._first, None
        return first if first is not None else await self._iterator.__anext__()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading and release the connection (every caller waits for the one close)."""
        self._first = None
        self._closed = True
        if not self._iterator_closed:
            # Once: a second aclose() of the generator while the first runs would raise.
            self._iterator_closed = True
            await cast(Any, self._iterator).aclose()
        await self._handler.close_async()

    close = aclose

    def _abandon(self) -> None:
        """A loop over the stream was left before its end: close it (from a finalizer)."""
        handler = self._handler
        if self._closed or handler.closing is not None or handler.released:
            return  # closed already, or read to its end (or its error)
        self._closed = True
        self._first = None
        close_soon(self.aclose, self._loop)

    # unasync: begin source
    async def text(self) -> AsyncIterator[str]:
        """The new text of each chunk (choice 0), skipping chunks without any."""
        async for chunk in self:
            piece = chunk_text(chunk)
            if piece:
                yield piece

    async def reasoning_text(self) -> AsyncIterator[str]:
        """The new thinking of each chunk of a reasoning model (choice 0); ``text()``
        gives only the answer."""
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

    async def until_done(self) -> Self:
        """Read the stream to its end (raising on failure); returns self."""
        async for _ in self:
            pass
        return self

    async def get_final_completion(self) -> Completion | ChatCompletion:
        """Read to the end and join all chunks into one answer (tool calls joined by index).

        Raises :class:`~odsc_llm.StreamError` (with the ``partial_text``) when the stream
        failed, or was closed or broken out of before its end; a stream merely paused
        (``next()``, a loop not left) is read on to its end.
        """
        await self.until_done()
        return self._handler.final_completion()

    # unasync: end source

    def __del__(self) -> None:
        # Dropped without being read to the end or closed: close the connection on the
        # loop (``__del__`` cannot await); release the permit now, except from a
        # garbage collection (on_close may take locks this thread holds: see _release).
        handler = getattr(self, "_handler", None)
        if handler is None or handler.released or handler.closing is not None:
            return
        loop = getattr(self, "_loop", None)
        if collecting():
            if not close_soon(handler.close_async, loop):
                defer(handler.release)
            return
        handler.release()
        if not self.response.is_closed:
            close_soon(self.response.aclose, loop)


async def _anext_or_none(iterator: AsyncIterator[ChunkT]) -> ChunkT | None:
    """The next item of ``iterator``, or None at its end."""
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return None
