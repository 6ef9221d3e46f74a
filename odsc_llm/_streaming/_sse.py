"""Server-Sent Events to typed chunks, without I/O (the streams do the reading).

``_feed.SSEFeed`` turns the body's bytes into events; ``_EventHandler`` turns those
events into chunks and errors, for both streams.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import httpx
from pydantic import ValidationError

from .._errors import StreamError, StreamTimeoutError, extract_error_message
from .._json import validate_json
from ..types.chat import ChatCompletion, ChatCompletionChunk
from ..types.completion import Completion
from ._accumulate import accumulator
from ._feed import DONE as _DONE
from ._feed import ServerSentEvent, SSEFeed, rest_is_here
from ._release import collecting, defer, let_go, spawn

if TYPE_CHECKING:  # only for the bound: the Responses types load when used
    from ..types.responses import ResponseStreamEvent

__all__ = ["SSEFeed", "ServerSentEvent", "_EventHandler", "rest_is_here"]

ChunkT = TypeVar("ChunkT", bound="Completion | ChatCompletionChunk | ResponseStreamEvent")


class _EventHandler(Generic[ChunkT]):
    """Turns SSE events into chunks; shared by the sync and async streams (no I/O).

    After each ``feed`` the caller yields the chunks returned, then stops reading if
    ``ended`` (``done`` at ``[DONE]``, or ``failure`` to raise).
    """

    #: What ends the stream, as the error messages name it.
    END = "'data: [DONE]'"

    __slots__ = (
        "cast_to", "closing", "deferred", "done", "ended", "failure", "first_event_deadline",
        "idle_timeout", "on_close", "parts", "released", "request", "request_id", "response",
        "sse", "validate",
    )  # fmt: skip

    def __init__(
        self,
        response: httpx.Response,
        cast_to: type[ChunkT],
        idle_timeout: float | None,
        first_event_deadline: float | None,
        on_close: Callable[[], None] | None,
    ) -> None:
        self.response = response
        self.cast_to = cast_to
        # pydantic-core's validator itself: model_validate_json adds ~0.5 us of Python
        # per chunk (a twentieth of parsing one) for options we never pass.
        self.validate = cast(
            "Callable[[str], ChunkT]", cast_to.__pydantic_validator__.validate_json
        )
        self.request = response.request
        self.request_id: str | None = response.headers.get("opc-request-id")
        self.idle_timeout = idle_timeout
        self.first_event_deadline = first_event_deadline
        self.on_close = on_close
        self.released = False
        self.closing: asyncio.Task[None] | None = None  # the async release, once begun
        self.deferred = False  # the sync release was handed to the closer thread
        self.sse = SSEFeed()
        # The chunks so far, merged as they arrive (get_final_completion(), partial_text):
        # not each chunk, whose JSON or model would cost every token ~0.2 KB.
        self.parts = accumulator(cast_to)
        self.done = False
        self.ended = False
        self.failure: StreamError | None = None

    # -- events to chunks ------------------------------------------------------------

    def feed(self, raw: bytes) -> Iterable[ChunkT]:
        """The chunks completed by ``raw``, a piece of the body."""
        got = self.sse.feed_data(raw)
        if got.__class__ is str:  # the usual read, one data-only event: its data
            chunk = self.chunk_data(got)
            return () if chunk is None else (chunk,)
        return self.process(got)  # type: ignore[arg-type]

    def feed_end(self) -> Iterable[ChunkT]:
        """At the end of the body: the chunks its last lines complete."""
        return self.process(self.sse.flush())

    def process(self, events: list[ServerSentEvent]) -> Iterable[ChunkT]:
        """The chunks the events make, one by one (a list would keep a read's worth of
        models alive at once, and the garbage collector's rescans of them cost ~15% of the
        speed). Stops at the stream's end (``ended``)."""
        if len(events) == 1:
            # The usual read (one HTTP chunk per event): no generator to make and resume.
            chunk = self.chunk(events[0])
            return () if chunk is None else (chunk,)
        return self._each(events) if events else ()

    def _each(self, events: list[ServerSentEvent]) -> Iterator[ChunkT]:
        chunk_of = self.chunk
        for sse in events:
            chunk = chunk_of(sse)
            if chunk is not None:
                yield chunk
            elif self.ended:
                break

    def chunk(self, sse: ServerSentEvent) -> ChunkT | None:
        """The chunk ``sse`` makes, merged into ``parts``; None for an event that is no
        chunk, or that ends the stream (``[DONE]``, an error: then ``ended``)."""
        return self.chunk_data(sse.data, sse.event)

    def chunk_data(self, data: str, event: str | None = None) -> ChunkT | None:
        """As :meth:`chunk`, from an event's data and type."""
        # The hot path (chunks/s matter): no method calls beyond parsing and merging.
        if not data or data.isspace():
            return None  # only id/retry/event fields, or an empty data: not a chunk
        if data == _DONE:
            self.end_at_done()
            return None
        if event == "error":
            self.fail(self.event_error(data))
            return None
        try:
            chunk = self.validate(data)
        except ValidationError:
            try:
                chunk = validate_json(self.cast_to, data)  # a lone surrogate, maybe
            except ValidationError as exc:
                self.fail(self.bad_chunk(data, exc))
                return None
        chunk.__dict__["request_id"] = self.request_id  # see ResponseType
        self.parts.add(chunk)  # type: ignore[arg-type]  # parts match cast_to
        return chunk

    def end_at_done(self) -> None:
        """At ``[DONE]``: every choice must have ended with a ``finish_reason``.

        A server that cuts a stream short may still send ``[DONE]`` (llama.cpp does when a
        new request interrupts it): without a finish reason the answer is incomplete.
        """
        self.ended = True
        if not self.parts.count:
            self.failure = self.error("The stream ended ('data: [DONE]') without any answer")
            return
        unfinished = sorted(self.started - self.finished.keys())
        if unfinished:
            self.failure = self.error(
                "The stream ended ('data: [DONE]') before choice(s) "
                f"{', '.join(map(str, unfinished))} had a finish_reason: the answer is "
                "incomplete (the server cut the generation short)"
            )
            return
        self.done = True

    def fail(self, error: StreamError) -> None:
        self.failure = error
        self.ended = True

    def raise_unless_done(self) -> None:
        """After the reading loop: raise the failure, or that ``[DONE]`` never came."""
        if self.failure is not None:
            raise self.failure
        if not self.done:
            raise self.end_error()

    @property
    def count(self) -> int:
        """The chunks parsed so far."""
        return self.parts.count

    @property
    def started(self) -> Any:
        """The indexes of the choices seen so far (set-like)."""
        return self.parts.started

    @property
    def finished(self) -> dict[int, str]:
        """Choice index -> its finish_reason, for the choices that have one."""
        return self.parts.finished

    def ends(self) -> list[Any]:
        """What a summary of the stream needs (the first chunk's id and model, the last
        usage): the accumulator's :class:`~._accumulate.Head` (or the Responses stream's
        final response); none before any chunk."""
        return self.parts.ends

    def partial_text(self) -> str:
        """The text of choice 0 so far."""
        return self.parts.text()

    def final_completion(self) -> Completion | ChatCompletion:
        """The answer, once the stream was read to ``[DONE]``; else its error.

        A stream closed (or broken off) before its end raises, as reading it would have:
        its chunks make no complete answer.
        """
        if self.failure is not None:
            raise self.failure
        if not self.done:
            raise self.error(
                f"The stream was closed before {self.END} (the loop broke off, or "
                "close() was called): get_final_completion() needs the whole answer; call "
                "it on a stream not yet closed, or join the chunks you read"
            )
        return self.parts.result(self.request_id)

    # -- releasing -------------------------------------------------------------------

    def release(self) -> None:
        """Mark the response released and call ``on_close``, both exactly once."""
        if not self.released:
            self.released = True
            if self.on_close is not None:
                self.on_close()

    def close_sync(self) -> None:
        """Close the response and release. From a garbage collection (a finalizer, which
        may run while this thread holds the pool's or on_close's locks), on the closer
        thread instead (see ``_release``)."""
        if collecting():
            if not self.deferred and not self.released:
                self.deferred = True
                defer(self._close_sync)
            return
        self._close_sync()

    def _close_sync(self) -> None:
        try:
            self.response.close()
        finally:
            let_go(self)  # the body iterator, kept while the stream was open
            self.release()

    async def close_async(self) -> None:
        """Close the response and release, once for every caller: in a task that a
        cancelled caller leaves running (cancelled half-way, httpx's close would leave
        the pool holding the connection for good)."""
        closing = self.closing
        if closing is None:
            if self.response.is_closed:
                # Nothing to cut half-way (the body ended, or it was closed): the usual
                # end of a stream read whole needs no task.
                self.release()
                return
            closing = self.closing = spawn(self._close_async())
        await asyncio.shield(closing)

    async def _close_async(self) -> None:
        try:
            await self.response.aclose()
        finally:
            self.release()

    # -- errors ----------------------------------------------------------------------

    def error(
        self,
        message: str,
        body: object | None = None,
        *,
        cls: type[StreamError] = StreamError,
        network: bool = False,
    ) -> StreamError:
        """A stream error; ``network`` failures before any chunk may be retried. Kept as
        ``failure`` too (every one is raised), so ``on_close`` observers see it."""
        self.failure = cls(
            f"{message} (opc-request-id: {self.request_id or '-'}; "
            f"{self.parts.count} chunks received before the failure)",
            request=self.request,
            request_id=self.request_id,
            body=body,
            partial_text=self.parts.text(),
            before_first_event=network and not self.parts.count,
        )
        return self.failure

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

    def end_error(self) -> StreamError:
        return self.error(
            f"The stream ended without {self.END}: the answer is incomplete "
            "(the connection closed early or the server failed after sending the headers)",
            network=True,
        )

    def timeout_error(self) -> StreamError:
        if not self.parts.count:
            message = "The stream's first event did not arrive before its deadline (total_timeout)"
        else:
            message = (
                f"The stream stalled: no content event for {self.idle_timeout or 0:g} s "
                "(stream_idle_timeout; SSE comments and keep-alive lines do not count)"
            )
        return self.error(message, cls=StreamTimeoutError, network=True)

    def transport_error(self, exc: Exception) -> StreamError:
        if isinstance(exc, httpx.TimeoutException):
            return self.error(
                f"The stream timed out before {self.END}: {type(exc).__name__}: {exc}",
                cls=StreamTimeoutError,
                network=True,
            )
        return self.error(
            f"The stream broke before {self.END}: {type(exc).__name__}: {exc}",
            network=True,
        )
