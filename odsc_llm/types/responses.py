"""Models of the Responses API (``/v1/responses``): the answer, its output items, the
stream's events, and the parameters of ``responses.create``.

Shapes as vLLM serves them (``vllm/entrypoints/openai/responses/protocol.py``, which
reuses ``openai.types.responses``): a ``Response`` holds ``output`` items (``message``
with ``output_text`` parts, ``reasoning`` with ``reasoning_text`` parts,
``function_call``); a stream sends one named SSE event per step (``event: <type>``,
``data: {"type": <type>, ...}``) and ends with ``response.completed``, without
``data: [DONE]``. Unknown item and event types are kept as generic models, never
dropped or refused: servers add kinds faster than clients learn them.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Generic, Literal, TypeVar, Union, cast

from pydantic import Discriminator, Field, Tag, TypeAdapter

from ._base import BaseType, ResponseType
from ._validate import validate_output
from .params import RequestOptions

__all__ = [
    "ParsedResponse",
    "Response",
    "ResponseCompletedEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseCreateParams",
    "ResponseCreatedEvent",
    "ResponseError",
    "ResponseErrorEvent",
    "ResponseFailedEvent",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseFunctionToolCall",
    "ResponseInProgressEvent",
    "ResponseIncompleteEvent",
    "ResponseOutputContent",
    "ResponseOutputItem",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseOutputMessage",
    "ResponseOutputRefusal",
    "ResponseOutputText",
    "ResponseParseParams",
    "ResponseReasoningItem",
    "ResponseReasoningText",
    "ResponseReasoningTextDeltaEvent",
    "ResponseReasoningTextDoneEvent",
    "ResponseStreamEvent",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseUnknownItem",
    "ResponseUsage",
]

_T = TypeVar("_T")
ContentT = TypeVar("ContentT")


# ---- output items --------------------------------------------------------------------


class ResponseOutputText(BaseType):
    """A text part of an output message (``type: "output_text"``)."""

    type: str = "output_text"
    text: str = ""
    annotations: list[Any] = Field(default_factory=list)
    logprobs: list[Any] | None = None


class ResponseOutputRefusal(BaseType):
    """A refusal part of an output message (``type: "refusal"``; OpenAI's shape)."""

    type: str = "refusal"
    refusal: str = ""


class ResponseUnknownItem(BaseType):
    """An output item (or content part) of a kind this client does not model
    (``mcp_call``, ``web_search_call``, ...): every field is kept as sent."""

    type: str = ""


def _kind_of(known: frozenset[str]) -> Any:
    def kind(value: Any) -> str:
        tag = value.get("type") if isinstance(value, Mapping) else getattr(value, "type", None)
        return tag if tag in known else "other"

    return Discriminator(kind)


#: One part of an output message's ``content``.
ResponseOutputContent = Annotated[
    Union[  # noqa: UP007 - Tag needs the Union form
        Annotated[ResponseOutputText, Tag("output_text")],
        Annotated[ResponseOutputRefusal, Tag("refusal")],
        Annotated[ResponseUnknownItem, Tag("other")],
    ],
    _kind_of(frozenset({"output_text", "refusal"})),
]


class ResponseOutputMessage(BaseType):
    """A message the model wrote (``type: "message"``); its ``content`` holds
    :class:`ResponseOutputText` parts (or ``refusal`` parts, or other kinds as they came)."""

    type: Literal["message"] = "message"
    id: str = ""
    role: str = "assistant"
    status: str | None = None
    content: list[ResponseOutputContent] = Field(default_factory=list)

    @property
    def text(self) -> str:
        """The message's ``output_text`` parts joined."""
        return "".join(part.text for part in self.content if isinstance(part, ResponseOutputText))


class ResponseReasoningText(BaseType):
    """A part of a reasoning item's thinking (``type: "reasoning_text"``)."""

    type: str = "reasoning_text"
    text: str = ""


class ResponseReasoningItem(BaseType):
    """A reasoning model's thinking (``type: "reasoning"``)."""

    type: Literal["reasoning"] = "reasoning"
    id: str = ""
    summary: list[Any] = Field(default_factory=list)
    content: list[ResponseReasoningText] | None = None
    status: str | None = None

    @property
    def text(self) -> str:
        """The thinking's text parts joined."""
        return "".join(part.text for part in self.content or ())


class ResponseFunctionToolCall(BaseType):
    """A call of one of the request's function tools (``type: "function_call"``);
    ``arguments`` is JSON text written by the model. Answer it with an input item
    ``{"type": "function_call_output", "call_id": call.call_id, "output": "..."}``."""

    type: Literal["function_call"] = "function_call"
    id: str | None = None
    call_id: str = ""
    name: str = ""
    arguments: str = ""
    status: str | None = None

    def parsed_arguments(self, schema: builtins.type[_T] | TypeAdapter[_T]) -> _T:
        """``arguments`` validated as ``schema`` (a pydantic model, any type pydantic's
        ``TypeAdapter`` takes, or a ``TypeAdapter``); raises
        :class:`~odsc_llm.OutputValidationError` when they do not fit."""
        parsed = validate_output(
            schema, self.arguments, what="tool call arguments", param="parsed_arguments()"
        )
        return cast("_T", parsed)


#: One item of ``Response.output``: a message, reasoning, a function call, or another
#: kind kept as :class:`ResponseUnknownItem`.
ResponseOutputItem = Annotated[
    Union[  # noqa: UP007 - Tag needs the Union form
        Annotated[ResponseOutputMessage, Tag("message")],
        Annotated[ResponseReasoningItem, Tag("reasoning")],
        Annotated[ResponseFunctionToolCall, Tag("function_call")],
        Annotated[ResponseUnknownItem, Tag("other")],
    ],
    _kind_of(frozenset({"message", "reasoning", "function_call"})),
]


# ---- the answer ----------------------------------------------------------------------


class ResponseUsage(BaseType):
    """Tokens used by a response (``input_tokens_details.cached_tokens``,
    ``output_tokens_details.reasoning_tokens`` as the server reports them)."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: dict[str, Any] | None = None
    output_tokens_details: dict[str, Any] | None = None


class ResponseError(BaseType):
    """What went wrong with a ``failed`` response."""

    code: str | None = None
    message: str = ""


class Response(ResponseType):
    """An answer of the Responses API.

    ``status`` is ``"completed"``, ``"incomplete"`` (cut at ``max_output_tokens``; see
    ``incomplete_details``), ``"in_progress"``/``"queued"`` (a ``background`` response
    not yet done), ``"cancelled"`` or ``"failed"``. :attr:`output_text` joins the text
    of every output message.
    """

    id: str = ""
    object: str = "response"
    created_at: float = 0
    model: str = ""
    status: str | None = None
    output: list[ResponseOutputItem] = Field(default_factory=list)
    usage: ResponseUsage | None = None
    error: ResponseError | None = None
    incomplete_details: dict[str, Any] | None = None
    instructions: Any = None
    previous_response_id: str | None = None
    max_output_tokens: int | None = None

    @property
    def output_text(self) -> str:
        """The ``output_text`` parts of every output message, joined (``""`` if none)."""
        return "".join(item.text for item in self.output if isinstance(item, ResponseOutputMessage))

    @property
    def reasoning_text(self) -> str | None:
        """A reasoning model's thinking, joined over its reasoning items (None if none)."""
        items = [item for item in self.output if isinstance(item, ResponseReasoningItem)]
        return "".join(item.text for item in items) if items else None

    @property
    def function_calls(self) -> list[ResponseFunctionToolCall]:
        """The function calls among the output items, in order."""
        return [item for item in self.output if isinstance(item, ResponseFunctionToolCall)]


class ParsedResponse(Response, Generic[ContentT]):
    """An answer of ``responses.parse``: :attr:`output_parsed` is the requested type."""

    #: The output text validated as the requested type (``None`` for a function call).
    output_parsed: ContentT | None = Field(default=None, exclude=True)


# ---- stream events -------------------------------------------------------------------


class ResponseStreamEvent(ResponseType):
    """One event of a Responses stream. Events of a type this client does not model
    arrive as this class, with every field kept; the others are its subclasses."""

    type: str = ""
    sequence_number: int | None = None


class _ResponseEvent(ResponseStreamEvent):
    response: Response


class ResponseCreatedEvent(_ResponseEvent):
    """``response.created``: the response began (``response.status`` ``in_progress``)."""


class ResponseInProgressEvent(_ResponseEvent):
    """``response.in_progress``."""


class ResponseCompletedEvent(_ResponseEvent):
    """``response.completed``: the last event; ``response`` is the whole answer."""


class ResponseIncompleteEvent(_ResponseEvent):
    """``response.incomplete``: the last event of a response cut short (e.g. at
    ``max_output_tokens``); ``response`` is the answer so far."""


class ResponseFailedEvent(_ResponseEvent):
    """``response.failed``: the response failed (``response.error`` says why)."""


class _ItemEvent(ResponseStreamEvent):
    output_index: int = 0
    item: ResponseOutputItem


class ResponseOutputItemAddedEvent(_ItemEvent):
    """``response.output_item.added``: a new output item begins."""


class ResponseOutputItemDoneEvent(_ItemEvent):
    """``response.output_item.done``: an output item is complete."""


class _PartEvent(ResponseStreamEvent):
    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    part: dict[str, Any] = Field(default_factory=dict)


class ResponseContentPartAddedEvent(_PartEvent):
    """``response.content_part.added``."""


class ResponseContentPartDoneEvent(_PartEvent):
    """``response.content_part.done``."""


class _DeltaEvent(ResponseStreamEvent):
    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    delta: str = ""


class ResponseTextDeltaEvent(_DeltaEvent):
    """``response.output_text.delta``: the next piece of the answer's text."""

    logprobs: list[Any] | None = None


class ResponseTextDoneEvent(ResponseStreamEvent):
    """``response.output_text.done``: one text part's whole text."""

    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    text: str = ""


class ResponseReasoningTextDeltaEvent(_DeltaEvent):
    """``response.reasoning_text.delta``: the next piece of a reasoning model's thinking."""


class ResponseReasoningTextDoneEvent(ResponseStreamEvent):
    """``response.reasoning_text.done``: one reasoning part's whole text."""

    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    text: str = ""


class ResponseFunctionCallArgumentsDeltaEvent(ResponseStreamEvent):
    """``response.function_call_arguments.delta``: the next piece of a call's arguments."""

    item_id: str = ""
    output_index: int = 0
    delta: str = ""


class ResponseFunctionCallArgumentsDoneEvent(ResponseStreamEvent):
    """``response.function_call_arguments.done``: a call's whole arguments."""

    item_id: str = ""
    output_index: int = 0
    name: str | None = None
    arguments: str = ""


class ResponseErrorEvent(ResponseStreamEvent):
    """``error``: the server failed mid-stream (the stream raises
    :class:`~odsc_llm.StreamError` on it)."""

    code: str | int | None = None
    message: str = ""
    param: str | None = None


#: Event type -> its model; any other type is a plain :class:`ResponseStreamEvent`.
EVENT_TYPES: dict[str, type[ResponseStreamEvent]] = {
    "response.created": ResponseCreatedEvent,
    "response.in_progress": ResponseInProgressEvent,
    "response.completed": ResponseCompletedEvent,
    "response.incomplete": ResponseIncompleteEvent,
    "response.failed": ResponseFailedEvent,
    "response.output_item.added": ResponseOutputItemAddedEvent,
    "response.output_item.done": ResponseOutputItemDoneEvent,
    "response.content_part.added": ResponseContentPartAddedEvent,
    "response.content_part.done": ResponseContentPartDoneEvent,
    "response.output_text.delta": ResponseTextDeltaEvent,
    "response.output_text.done": ResponseTextDoneEvent,
    "response.reasoning_text.delta": ResponseReasoningTextDeltaEvent,
    "response.reasoning_text.done": ResponseReasoningTextDoneEvent,
    "response.function_call_arguments.delta": ResponseFunctionCallArgumentsDeltaEvent,
    "response.function_call_arguments.done": ResponseFunctionCallArgumentsDoneEvent,
    "error": ResponseErrorEvent,
}


_EVENT_CHOICES: tuple[Any, ...] = (
    *(Annotated[cls, Tag(name)] for name, cls in EVENT_TYPES.items()),
    Annotated[ResponseStreamEvent, Tag("other")],
)
_EventUnion: Any = Annotated[Union[_EVENT_CHOICES], _kind_of(frozenset(EVENT_TYPES))]  # noqa: UP007
#: Validates one event's JSON into its model (one pass: the tag picks the class).
EVENT_ADAPTER: TypeAdapter[ResponseStreamEvent] = TypeAdapter(_EventUnion)


# ---- parameters ----------------------------------------------------------------------


class ResponseCreateParams(RequestOptions, total=False):
    """The other keyword arguments of ``responses.create`` (OpenAI's names, as vLLM reads
    them); server-specific ones go in ``extra_body``."""

    model: str
    temperature: float
    top_p: float
    top_logprobs: int
    parallel_tool_calls: bool
    max_tool_calls: int
    store: bool
    background: bool
    metadata: Mapping[str, str]
    include: Iterable[str]
    truncation: Literal["auto", "disabled"]
    user: str
    service_tier: str


class ResponseParseParams(ResponseCreateParams, total=False):
    """The keyword arguments of ``responses.parse`` besides ``input`` and ``text_format``."""

    instructions: str
    tools: Iterable[Mapping[str, Any]]
    tool_choice: str | Mapping[str, Any]
    reasoning: Mapping[str, Any]
    max_output_tokens: int
    previous_response_id: str
