"""Typed streams of Server-Sent Events: ``Stream`` (sync) and ``AsyncStream`` over httpx-sse.

A stream yields typed chunks until ``data: [DONE]``. Anything else is an error, never a
quiet end: an error event (vLLM sends ``data: {"error": ...}`` then ``[DONE]``), a chunk
that is not JSON, a broken connection, or an end without ``[DONE]`` (OCI reports
failures after the 200 only in an HTTP trailer, which httpx drops).

Leaving a ``with`` block, breaking out of the loop or calling ``close()`` closes the
connection. The event handling is shared; the two classes differ only in the I/O loop.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterator
from typing import Any, Generic, TextIO, TypeVar, cast

import httpx
from httpx_sse import EventSource
from pydantic import ValidationError

from ._accumulate import accumulate, chunk_reasoning, chunk_text, partial_text
from ._errors import StreamError, extract_error_message
from .types.chat import ChatCompletion, ChatCompletionChunk
from .types.completion import Completion

__all__ = ["AsyncStream", "Stream"]

ChunkT = TypeVar("ChunkT", bound="Completion | ChatCompletionChunk")

_DONE = "[DONE]"
# After [DONE], read at most this many more events before giving up on reusing the
# connection (a server that keeps talking gets its connection closed, as before).
_MAX_EVENTS_AFTER_DONE = 16

# Strong references to fire-and-forget close tasks, so they are not collected mid-way.
_background_tasks: set[asyncio.Task[None]] = set()


class _EventHandler(Generic[ChunkT]):
    """Turns SSE events into chunks; shared by the sync and async streams (no I/O)."""

    __slots__ = ("cast_to", "done", "events", "request", "request_id", "response")

    def __init__(self, response: httpx.Response, cast_to: type[ChunkT]) -> None:
        self.response = response
        self.cast_to = cast_to
        self.request = response.request
        self.request_id: str | None = response.headers.get("opc-request-id")
        # The JSON text of every chunk yielded so far, for get_final_completion() and
        # StreamError.partial_text. Strings, not models: holding thousands of models
        # makes the garbage collector rescan them all and halves the stream's speed.
        self.events: list[str] = []
        self.done = False

    def chunks(self) -> list[ChunkT]:
        """The chunks yielded so far, parsed again from their text."""
        validate = cast("Callable[[str], ChunkT]", self.cast_to.model_validate_json)
        return [validate(data) for data in self.events]

    def error(self, message: str, body: object | None = None) -> StreamError:
        partial = partial_text(self.chunks())
        return StreamError(
            f"{message} (opc-request-id: {self.request_id or '-'}; "
            f"{len(self.events)} chunks received before the failure)",
            request=self.request,
            request_id=self.request_id,
            body=body,
            partial_text=partial,
        )

    def check_content_type(self) -> str | None:
        """None when the answer is SSE; else the media type, whose body must be read."""
        media = self.response.headers.get("content-type", "").partition(";")[0].strip()
        return None if "text/event-stream" in media else media

    def not_sse_error(self, media: str, body: bytes) -> StreamError:
        readable, _ = extract_error_message(body, media)
        return self.error(
            f"Expected a stream (text/event-stream) but the server answered {media or 'no'} "
            f"content with status {self.response.status_code}: {readable}",
            body=body.decode("utf-8", "replace"),
        )

    def event_error(self, data: str) -> StreamError:
        readable, _ = extract_error_message(data)
        return self.error(f"The server sent an error event: {readable}", body=data)

    def bad_chunk(self, data: str, exc: ValidationError) -> StreamError:
        try:
            parsed: Any = json.loads(data)
        except ValueError:
            return self.error(f"The server sent a chunk that is not JSON: {data[:200]!r}")
        if isinstance(parsed, dict) and ("error" in parsed or parsed.get("object") == "error"):
            readable, _ = extract_error_message(data)
            return self.error(f"The model server reported an error mid-stream: {readable}", parsed)
        return self.error(
            f"The server sent a chunk of unexpected shape for {self.cast_to.__name__}: "
            f"{exc.errors()[0].get('msg', exc)}; chunk: {data[:200]!r}",
            parsed,
        )

    def check_finished(self, started: set[int], finished: set[int]) -> None:
        """At ``[DONE]``: every choice must have ended with a ``finish_reason``.

        A server that cuts a stream short may still send ``[DONE]`` (llama.cpp does when a
        new request interrupts it): without a finish reason the answer is incomplete.
        """
        if not started:
            raise self.error("The stream ended ('data: [DONE]') without any answer")
        unfinished = sorted(started - finished)
        if unfinished:
            raise self.error(
                "The stream ended ('data: [DONE]') before choice(s) "
                f"{', '.join(map(str, unfinished))} had a finish_reason: the answer is "
                "incomplete (the server cut the generation short)"
            )

    def end_error(self) -> StreamError:
        return self.error(
            "The stream ended without 'data: [DONE]': the answer is incomplete "
            "(the connection closed early or the server failed after sending the headers)"
        )

    def transport_error(self, exc: Exception) -> StreamError:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "broke"
        return self.error(f"The stream {kind} before 'data: [DONE]': {type(exc).__name__}: {exc}")


class Stream(Generic[ChunkT]):
    """A synchronous stream of typed chunks. Iterate it once; use it as a context manager."""

    response: httpx.Response

    def __init__(self, response: httpx.Response, cast_to: type[ChunkT]) -> None:
        self.response = response
        self._handler = _EventHandler(response, cast_to)
        self._iterator = self._iter_chunks()

    @property
    def request_id(self) -> str | None:
        """The ``opc-request-id`` of this stream's answer."""
        return self._handler.request_id

    def _iter_chunks(self) -> Generator[ChunkT, None, None]:
        handler = self._handler
        response = self.response
        try:
            media = handler.check_content_type()
            if media is not None:
                raise handler.not_sse_error(media, response.read())
            try:
                # The hot loop: locals and no method calls beyond parsing (chunks/s matter).
                validate = cast("Callable[[str], ChunkT]", handler.cast_to.model_validate_json)
                remember = handler.events.append
                request_id = handler.request_id
                started: set[int] = set()  # choice indexes seen, and those that finished
                finished: set[int] = set()
                events = EventSource(response).iter_sse()
                for sse in events:
                    data = sse.data
                    if data == _DONE:
                        handler.check_finished(started, finished)
                        handler.done = True
                        # Read the rest of the body (normally just the last, empty HTTP
                        # chunk) so the connection goes back to the pool instead of being
                        # closed: the next call then skips a new TCP + TLS handshake.
                        try:
                            for extra, _ in enumerate(events):
                                if extra >= _MAX_EVENTS_AFTER_DONE:
                                    break
                        except httpx.TransportError:
                            pass  # the answer is complete; only the reuse is lost
                        return
                    if sse.event == "error":
                        raise handler.event_error(data)
                    try:
                        chunk = validate(data)
                    except ValidationError as exc:
                        raise handler.bad_chunk(data, exc) from None
                    chunk.__dict__["request_id"] = request_id  # see ResponseType
                    remember(data)
                    for choice in chunk.choices:
                        started.add(choice.index)
                        if choice.finish_reason is not None:
                            finished.add(choice.index)
                    yield chunk
            except httpx.TransportError as exc:  # includes httpx_sse.SSEError
                raise handler.transport_error(exc) from exc
            raise handler.end_error()
        finally:
            response.close()

    def __iter__(self) -> Iterator[ChunkT]:
        # A generator wrapper: when a `for` loop breaks and drops it, close() runs and
        # the connection is released at once.
        yield from self._iterator

    def __next__(self) -> ChunkT:
        return self._iterator.__next__()

    def __enter__(self) -> Stream[ChunkT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._iterator.close()
        self.response.close()

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


class AsyncStream(Generic[ChunkT]):
    """An asynchronous stream of typed chunks: ``async for``, ``async with``, ``aclose()``."""

    response: httpx.Response

    def __init__(self, response: httpx.Response, cast_to: type[ChunkT]) -> None:
        self.response = response
        self._handler = _EventHandler(response, cast_to)
        self._iterator = self._iter_chunks()
        self._closed = False

    @property
    def request_id(self) -> str | None:
        """The ``opc-request-id`` of this stream's answer."""
        return self._handler.request_id

    async def _iter_chunks(self) -> AsyncIterator[ChunkT]:
        handler = self._handler
        response = self.response
        try:
            media = handler.check_content_type()
            if media is not None:
                raise handler.not_sse_error(media, await response.aread())
            events = EventSource(response).aiter_sse()
            try:
                validate = cast("Callable[[str], ChunkT]", handler.cast_to.model_validate_json)
                remember = handler.events.append
                request_id = handler.request_id
                started: set[int] = set()  # choice indexes seen, and those that finished
                finished: set[int] = set()
                async for sse in events:
                    data = sse.data
                    if data == _DONE:
                        handler.check_finished(started, finished)
                        handler.done = True
                        # As in Stream: drain the (empty) rest so the connection is reused.
                        extra = 0
                        try:
                            async for _ in events:
                                extra += 1
                                if extra >= _MAX_EVENTS_AFTER_DONE:
                                    break
                        except httpx.TransportError:
                            pass  # the answer is complete; only the reuse is lost
                        return
                    if sse.event == "error":
                        raise handler.event_error(data)
                    try:
                        chunk = validate(data)
                    except ValidationError as exc:
                        raise handler.bad_chunk(data, exc) from None
                    chunk.__dict__["request_id"] = request_id  # see ResponseType
                    remember(data)
                    for choice in chunk.choices:
                        started.add(choice.index)
                        if choice.finish_reason is not None:
                            finished.add(choice.index)
                    yield chunk
            except httpx.TransportError as exc:  # includes httpx_sse.SSEError
                raise handler.transport_error(exc) from exc
            finally:
                await events.aclose()
            raise handler.end_error()
        finally:
            self._closed = True
            await response.aclose()

    async def __aiter__(self) -> AsyncIterator[ChunkT]:
        # `break` drops this wrapper generator; the event loop's async-generator finalizer
        # then closes it, and the `finally` releases the connection (the inner generator
        # is still referenced by the stream, so nothing else would close it).
        try:
            async for chunk in self._iterator:
                yield chunk
        finally:
            await self.aclose()

    async def __anext__(self) -> ChunkT:
        return await self._iterator.__anext__()

    async def __aenter__(self) -> AsyncStream[ChunkT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        await cast(Any, self._iterator).aclose()
        self._closed = True
        await self.response.aclose()

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
        # Dropped without being read to the end or closed: release the connection on the
        # running loop rather than leaving it checked out of the pool.
        if self._closed or self.response.is_closed:
            return
        close_soon(self.response.aclose)


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
