"""The Responses API's stream: ``ResponseStream`` and ``AsyncResponseStream``.

The same streams as chat (reading, deadlines, release: ``Stream``/``AsyncStream``) with
another event handler, because the Responses protocol ends differently. vLLM sends one
named event per step (``event: response.output_text.delta`` /
``data: {"type": ...}``) and ends with ``response.completed``, without ``data: [DONE]``
(``_convert_stream_to_sse_events`` in ``vllm/entrypoints/openai/responses/api_router.py``).
So the stream is complete at ``response.completed`` (or ``response.incomplete``, OpenAI's
end of a response cut at ``max_output_tokens``; vLLM sends ``completed`` with that status);
a body that ends before it, an ``error`` event (vLLM's ``GenerationError`` mid-stream) or
``response.failed`` raise :class:`~odsc_llm.StreamError` with the text so far.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from httpx_sse._models import ServerSentEvent
from pydantic import ValidationError

from .._errors import StreamError, extract_error_message
from .._json import replace_lone_surrogates
from ..types.responses import (
    EVENT_ADAPTER,
    Response,
    ResponseFailedEvent,
    ResponseReasoningTextDeltaEvent,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
)
from ._sse import _EventHandler
from ._streams import AsyncStream, Stream

__all__ = ["AsyncResponseStream", "ResponseParts", "ResponseStream"]

#: The events after which a Responses stream is whole.
_ENDS = frozenset({"response.completed", "response.incomplete"})
_DONE = "[DONE]"


class ResponseParts:
    """A Responses stream merged so far: the text and reasoning deltas (joined once, at
    the end), and the final ``Response`` once its last event came. Offers what the
    streams and tracing read of the chat accumulators (``count``, ``usage``, ``ends``,
    ``started``, ``finished``, ``text()``)."""

    __slots__ = ("count", "finished", "reasoning", "response", "started", "texts", "usage")

    def __init__(self) -> None:
        self.count = 0
        self.texts: list[str] = []
        self.reasoning: list[str] = []
        self.response: Response | None = None
        self.usage: Any = None
        self.started: set[int] = set()
        #: Output 0 -> the response's status, once it ended.
        self.finished: dict[int, str] = {}

    def add(self, event: ResponseStreamEvent) -> None:
        """Merge one event."""
        self.count += 1
        self.started.add(0)
        if isinstance(event, ResponseTextDeltaEvent):
            self.texts.append(event.delta)
        elif isinstance(event, ResponseReasoningTextDeltaEvent):
            self.reasoning.append(event.delta)
        elif event.type in _ENDS:
            response: Response = event.response  # type: ignore[attr-defined]
            self.response = response
            self.usage = response.usage
            self.finished[0] = response.status or event.type

    @property
    def ends(self) -> list[Any]:
        """The final response (what tracing reads id, model and usage from), if any."""
        return [] if self.response is None else [self.response]

    def text(self) -> str:
        """The output text so far."""
        return "".join(self.texts)


class _ResponseEventHandler(_EventHandler[ResponseStreamEvent]):
    """Events to typed events, ending at ``response.completed`` (no ``[DONE]``)."""

    __slots__ = ()
    END = "its 'response.completed' event"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.validate = EVENT_ADAPTER.validate_json
        self.parts: Any = ResponseParts()

    def feed(self, raw: bytes) -> Iterator[ResponseStreamEvent]:
        return self.process(self.sse.feed(raw))

    def process(self, events: list[ServerSentEvent]) -> Iterator[ResponseStreamEvent]:
        validate: Callable[[str], ResponseStreamEvent] = self.validate
        parts: ResponseParts = self.parts
        for sse in events:
            data = sse.data
            if not data or data.isspace():
                continue
            if data == _DONE:  # vLLM sends none here; one before the end ends too early
                self.fail(self.end_error())
                break
            try:
                event = validate(data)
            except ValidationError:
                try:
                    event = validate(str(replace_lone_surrogates(data)))
                except ValidationError as exc:
                    self.fail(self.bad_chunk(data, exc))
                    break
            if (
                sse.event == "error"
                or event.type == "error"
                or (not event.type and "error" in (event.model_extra or {}))
            ):
                self.fail(self.event_error(data))
                break
            event.__dict__["request_id"] = self.request_id
            if isinstance(event, ResponseFailedEvent):
                self.fail(self.failed_error(event, data))
                break
            parts.add(event)
            yield event
            if event.type in _ENDS:
                self.ended = self.done = True
                break

    def failed_error(self, event: ResponseFailedEvent, data: str) -> StreamError:
        error = event.response.error
        reason = error.message if error is not None else extract_error_message(data)[0]
        return self.error(f"The response failed (response.failed): {reason}", body=data)

    def end_error(self) -> StreamError:
        return self.error(
            "The stream ended before its 'response.completed' event: the answer is "
            "incomplete (the connection closed early or the server failed after sending "
            "the headers)",
            network=True,
        )

    def final_response(self) -> Response:
        """The completed ``Response``, once the stream was read to its end; else its error."""
        if self.failure is not None:
            raise self.failure
        response = self.parts.response
        if not self.done or response is None:
            raise self.error(
                "The stream was closed before its 'response.completed' event (the loop "
                "broke off, or close() was called): get_final_response() needs the whole "
                "answer; call it on a stream not yet closed"
            )
        response._set_request_id(self.request_id)
        return response  # type: ignore[no-any-return]


_NOT_CHAT = (
    "A Responses stream has no chat completion: call get_final_response() for the "
    "completed Response."
)


# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
class ResponseStream(Stream[ResponseStreamEvent]):
    """A stream of Responses API events (``client.responses.create(stream=True)``).

    Iterate the typed events (:class:`~odsc_llm.types.responses.ResponseStreamEvent`
    subclasses; unknown types as the base class), or ``text()`` for the answer's text
    deltas and ``reasoning_text()`` for a reasoning model's; :meth:`get_final_response`
    gives the completed :class:`~odsc_llm.types.responses.Response`. Deadlines, closing
    and errors as :class:`~odsc_llm.Stream`.
    """

    _handler_type = _ResponseEventHandler

    def get_final_response(self) -> Response:
        """Read to the end and return the completed ``Response`` (``response.completed``).

        Raises :class:`~odsc_llm.StreamError` (with the ``partial_text``) when the stream
        failed, or was closed or broken out of before its end.
        """
        self.until_done()
        handler: _ResponseEventHandler = self._handler  # type: ignore[assignment]
        return handler.final_response()

    def get_final_completion(self) -> NoReturn:
        """Not for this stream: see :meth:`get_final_response`."""
        raise TypeError(_NOT_CHAT)


# unasync: end generated


# unasync: begin source
class AsyncResponseStream(AsyncStream[ResponseStreamEvent]):
    """A stream of Responses API events (``client.responses.create(stream=True)``).

    Iterate the typed events (:class:`~odsc_llm.types.responses.ResponseStreamEvent`
    subclasses; unknown types as the base class), or ``text()`` for the answer's text
    deltas and ``reasoning_text()`` for a reasoning model's; :meth:`get_final_response`
    gives the completed :class:`~odsc_llm.types.responses.Response`. Deadlines, closing
    and errors as :class:`~odsc_llm.AsyncStream`.
    """

    _handler_type = _ResponseEventHandler

    async def get_final_response(self) -> Response:
        """Read to the end and return the completed ``Response`` (``response.completed``).

        Raises :class:`~odsc_llm.StreamError` (with the ``partial_text``) when the stream
        failed, or was closed or broken out of before its end.
        """
        await self.until_done()
        handler: _ResponseEventHandler = self._handler  # type: ignore[assignment]
        return handler.final_response()

    async def get_final_completion(self) -> NoReturn:
        """Not for this stream: see :meth:`get_final_response`."""
        raise TypeError(_NOT_CHAT)


# unasync: end source
