"""Models of ``/v1/chat/completions`` answers and stream chunks (OpenAI / vLLM shapes)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, TypeVar, cast

from pydantic import AliasChoices, Field

from ._base import BaseType, ResponseType
from ._validate import validate_output
from .usage import CompletionUsage

if TYPE_CHECKING:
    from pydantic import TypeAdapter

_T = TypeVar("_T")

#: vLLM's name for a reasoning model's thinking (>= 0.11), then the older name: both
#: are read into one ``reasoning`` field.
_REASONING = Field(default=None, validation_alias=AliasChoices("reasoning", "reasoning_content"))

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "ChatCompletionTokenLogprob",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "ChunkChoice",
    "Function",
    "TopLogprob",
]


class TopLogprob(BaseType):
    """One of the most likely tokens at a position."""

    token: str = ""
    logprob: float = 0.0
    bytes: list[int] | None = None


class ChatCompletionTokenLogprob(BaseType):
    """The log probability of one generated token, with the top alternatives."""

    token: str = ""
    logprob: float = 0.0
    bytes: list[int] | None = None
    top_logprobs: list[TopLogprob] = Field(default_factory=list)


class ChoiceLogprobs(BaseType):
    """Log probabilities of a choice's content tokens."""

    content: list[ChatCompletionTokenLogprob] | None = None


class Function(BaseType):
    """The function a tool call invokes; ``arguments`` is JSON text written by the model."""

    name: str = ""
    arguments: str = ""


class ChatCompletionMessageToolCall(BaseType):
    """A tool call in an assistant message."""

    id: str = ""
    type: str = "function"
    function: Function

    def parsed_arguments(self, schema: builtins.type[_T] | TypeAdapter[_T]) -> _T:
        """The call's ``arguments`` validated as ``schema`` (a pydantic model, any type
        pydantic's ``TypeAdapter`` takes, or a ``TypeAdapter``).

        Raises :class:`~odsc_llm.OutputValidationError` (raw text and pydantic's errors)
        when the model wrote arguments that do not fit, and
        :class:`~odsc_llm.InvalidRequestError` for a function as ``schema`` (pydantic
        would validate by calling it: the tool would run).
        """
        parsed = validate_output(
            schema,
            self.function.arguments,
            what="tool call arguments",
            param="parsed_arguments()",
        )
        return cast("_T", parsed)


class ChatCompletionMessage(BaseType):
    """A message written by the model."""

    role: str = "assistant"
    content: str | None = None
    #: A reasoning model's thinking (vLLM's ``reasoning``, formerly ``reasoning_content``).
    reasoning: str | None = _REASONING
    #: Set by servers that refuse a structured answer (OpenAI's shape; vLLM does not).
    refusal: str | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None = None

    @property
    def reasoning_content(self) -> str | None:
        """The older name of :attr:`reasoning` (vLLM before 0.11), kept readable."""
        return self.reasoning


class Choice(BaseType):
    """One answer of a chat completion."""

    index: int = 0
    message: ChatCompletionMessage
    logprobs: ChoiceLogprobs | None = None
    #: ``stop``, ``length``, ``tool_calls`` or ``abort``.
    finish_reason: str | None = None
    stop_reason: int | str | None = None


class ChatCompletion(ResponseType):
    """An answer of ``chat.completions.create``."""

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[Choice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None

    @property
    def text(self) -> str:
        """The content of the first choice's message (empty when there is none)."""
        if not self.choices:
            return ""
        return self.choices[0].message.content or ""

    def __repr__(self) -> str:
        finish = self.choices[0].finish_reason if self.choices else None
        text = self.text if len(self.text) <= 80 else self.text[:77] + "..."
        return (
            f"ChatCompletion(text={text!r}, finish_reason={finish!r}, "
            f"usage={self.usage!r}, request_id={self.request_id!r})"
        )


class ChoiceDeltaToolCallFunction(BaseType):
    """A piece of a streamed tool call's function: name first, then argument text pieces."""

    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(BaseType):
    """A piece of a streamed tool call; pieces with the same ``index`` belong together."""

    index: int = 0
    id: str | None = None
    type: str | None = None
    function: ChoiceDeltaToolCallFunction | None = None


class ChoiceDelta(BaseType):
    """What a stream chunk adds to a message."""

    role: str | None = None
    content: str | None = None
    #: A piece of a reasoning model's thinking (``reasoning`` or ``reasoning_content``).
    reasoning: str | None = _REASONING
    tool_calls: list[ChoiceDeltaToolCall] | None = None

    @property
    def reasoning_content(self) -> str | None:
        """The older name of :attr:`reasoning` (vLLM before 0.11), kept readable."""
        return self.reasoning


class ChunkChoice(BaseType):
    """One choice's part of a stream chunk."""

    index: int = 0
    delta: ChoiceDelta
    logprobs: ChoiceLogprobs | None = None
    finish_reason: str | None = None
    stop_reason: int | str | None = None


class ChatCompletionChunk(ResponseType):
    """One event of a streamed chat completion."""

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
