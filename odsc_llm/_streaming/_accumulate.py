"""Joining stream chunks: the text of one chunk, and the answer a whole stream makes.

No I/O: used by the streams (``text()``, ``get_final_completion()``,
``StreamError.partial_text``) and by the CLI. A stream merges each chunk into an
accumulator as it arrives (:class:`CompletionParts`, :class:`ChatParts`) and keeps only
what the answer needs: the text and tool-call arguments so far, finish reasons, usage,
and the first chunk's id, created and model. No chunk is kept once merged: with 1,000
streams open, each chunk model kept (or its JSON) cost ~1.5 KB a stream, and each piece
of text kept apart ~55 bytes a token (issue 27); the text grows in an ``io.StringIO``
instead (its buffer: ~4 bytes a character at most).
"""

from __future__ import annotations

from io import StringIO
from typing import Any, NamedTuple, TypeVar

from ..types._base import ResponseType
from ..types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceLogprobs,
    Function,
)
from ..types.completion import Completion, CompletionChoice, CompletionLogprobs

__all__ = [
    "ChatParts",
    "CompletionParts",
    "Head",
    "accumulate",
    "accumulator",
    "chunk_reasoning",
    "chunk_text",
    "partial_text",
]

_LOGPROB_FIELDS = ("text_offset", "token_logprobs", "tokens", "top_logprobs")


def chunk_text(chunk: ResponseType) -> str | None:
    """The new text of choice 0 of a completion or chat chunk, or of a Responses
    ``response.output_text.delta`` event (None if it has none)."""
    if isinstance(chunk, ChatCompletionChunk):
        return chunk.choices[0].delta.content if chunk.choices else None
    if isinstance(chunk, Completion):
        return chunk.choices[0].text if chunk.choices else None
    # A Responses event, read by its type (importing those models costs every client).
    if chunk.__dict__.get("type") == "response.output_text.delta":
        return getattr(chunk, "delta", None)
    return None


def chunk_reasoning(chunk: ResponseType) -> str | None:
    """The new thinking of choice 0 of a chat chunk (``reasoning``), or of a Responses
    ``response.reasoning_text.delta`` event (None if it has none)."""
    if isinstance(chunk, ChatCompletionChunk) and chunk.choices:
        return chunk.choices[0].delta.reasoning
    if chunk.__dict__.get("type") == "response.reasoning_text.delta":
        return getattr(chunk, "delta", None)
    return None


def partial_text(chunks: list[Any]) -> str:
    """The text of choice 0 joined over ``chunks``."""
    return "".join(piece for piece in map(chunk_text, chunks) if piece)


def accumulator(chunk_type: type[Any]) -> CompletionParts | ChatParts:
    """An empty accumulator for chunks of ``chunk_type``."""
    return ChatParts() if issubclass(chunk_type, ChatCompletionChunk) else CompletionParts()


def accumulate(chunks: list[Any], request_id: str | None = None) -> Completion | ChatCompletion:
    """Join stream chunks into the answer the non-streaming call would have given."""
    parts = accumulator(type(chunks[0]) if chunks else Completion)
    add = parts.add
    for chunk in chunks:
        add(chunk)
    return parts.result(request_id)


_AnswerT = TypeVar("_AnswerT", Completion, ChatCompletion)


class Head(NamedTuple):
    """What a summary of the stream needs of its chunks (tracing): the first chunk's id
    and model, and the last usage seen; ``choices`` is empty (the finish reasons are
    merged apart)."""

    id: str
    model: str
    usage: Any
    choices: tuple[()] = ()


class _Parts:
    """What both accumulators keep: the first chunk's id, usage, finish reasons."""

    __slots__ = ("count", "created", "finished", "id", "model", "usage")

    def __init__(self) -> None:
        self.count = 0  # chunks merged
        self.id = ""  # id, created and model come from the first chunk
        self.created = 0
        self.model = ""
        self.usage: Any = None  # the last chunk's that had any
        #: Choice index -> its finish_reason, once it has one.
        self.finished: dict[int, str] = {}

    def _head(self, fields: dict[str, Any]) -> None:
        """Keep the first chunk's id, created and model (not the chunk)."""
        self.id = fields["id"]
        self.created = fields["created"]
        self.model = fields["model"]

    def _answer(self, kind: type[_AnswerT], choices: list[Any], request_id: str | None) -> _AnswerT:
        """The whole answer: the first chunk's id, created and model, the usage seen."""
        result = kind(
            id=self.id, created=self.created, model=self.model, choices=choices, usage=self.usage
        )
        result._set_request_id(request_id)
        return result

    @property
    def ends(self) -> list[Head]:
        """What a summary of the stream needs (none before any chunk)."""
        return [Head(self.id, self.model, self.usage)] if self.count else []


def _joined(text: StringIO | None) -> str:
    return "" if text is None else text.getvalue()


class CompletionParts(_Parts):
    """A completions stream merged so far."""

    __slots__ = ("finals", "logprobs", "texts")

    def __init__(self) -> None:
        super().__init__()
        self.texts: dict[int, StringIO] = {}  # also: the choices seen, in arrival order
        self.finals: dict[int, tuple[str | None, int | str | None]] = {}
        self.logprobs: dict[int, dict[str, list[Any] | None]] = {}

    @property
    def started(self) -> Any:
        """The indexes of the choices seen (a set-like view)."""
        return self.texts.keys()

    def add(self, chunk: Completion) -> None:
        """Merge one chunk (the stream's hot path: cheap operations only)."""
        fields = chunk.__dict__  # as ChatParts.add
        if not self.count:
            self._head(fields)
        self.count += 1
        if fields["usage"] is not None:
            self.usage = fields["usage"]
        texts = self.texts
        finals = self.finals
        for choice in fields["choices"]:
            got = choice.__dict__
            index = got["index"]
            parts = texts.get(index)
            if parts is None:
                parts = texts[index] = StringIO()
            parts.write(got["text"])
            reason = got["finish_reason"]
            if reason is not None:
                finals[index] = (reason, got["stop_reason"])
                self.finished[index] = reason
            elif index not in finals:
                finals[index] = (None, got["stop_reason"])
            if got["logprobs"] is not None:
                merged = self.logprobs.setdefault(index, dict.fromkeys(_LOGPROB_FIELDS))
                for field in _LOGPROB_FIELDS:
                    piece = getattr(choice.logprobs, field)
                    if piece is not None:
                        kept = merged[field]
                        if kept is None:
                            merged[field] = list(piece)
                        else:
                            kept.extend(piece)

    def text(self) -> str:
        """The text of choice 0 so far."""
        return _joined(self.texts.get(0))

    def result(self, request_id: str | None = None) -> Completion:
        """The answer the chunks so far make."""
        choices = []
        for index in sorted(self.texts):
            finish_reason, stop_reason = self.finals[index]
            merged = self.logprobs.get(index)
            choices.append(
                CompletionChoice(
                    index=index,
                    text=self.texts[index].getvalue(),
                    logprobs=None if merged is None else _logprobs(merged),
                    finish_reason=finish_reason,
                    stop_reason=stop_reason,
                )
            )
        return self._answer(Completion, choices, request_id)


def _logprobs(merged: dict[str, list[Any] | None]) -> CompletionLogprobs:
    # Only the fields some chunk carried are set (to_dict() leaves the others out).
    return CompletionLogprobs(**{k: v for k, v in merged.items() if v is not None})


class _ToolCall:
    """One streamed tool call so far: its argument text kept in pieces."""

    __slots__ = ("arguments", "id", "name", "type")

    def __init__(self) -> None:
        self.id = ""
        self.type = "function"
        self.name = ""
        self.arguments: list[str] = []


class ChatParts(_Parts):
    """A chat stream merged so far."""

    __slots__ = (
        "calls", "contents", "finish", "has_content", "logprob_items", "reasoning", "roles",
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.contents: dict[int, StringIO] = {}  # also: the choices seen
        # Choices whose deltas carried a content field at all (even ""): their joined
        # content is a string, as in the non-streamed answer; others' is None.
        self.has_content: set[int] = set()
        self.reasoning: dict[int, StringIO] = {}
        self.roles: dict[int, str] = {}
        self.finish: dict[int, tuple[str | None, int | str | None]] = {}
        self.calls: dict[int, dict[int, _ToolCall]] = {}
        self.logprob_items: dict[int, list[Any]] = {}

    @property
    def started(self) -> Any:
        """The indexes of the choices seen (a set-like view)."""
        return self.contents.keys()

    def add(self, chunk: ChatCompletionChunk) -> None:
        """Merge one chunk (the stream's hot path: cheap operations only; the fields are
        read from the models' ``__dict__``, 3x faster than pydantic's attributes)."""
        fields = chunk.__dict__
        if not self.count:
            self._head(fields)
        self.count += 1
        if fields["usage"] is not None:
            self.usage = fields["usage"]
        contents = self.contents
        for choice in fields["choices"]:
            got = choice.__dict__
            index = got["index"]
            delta = got["delta"].__dict__
            parts = contents.get(index)
            if parts is None:
                parts = contents[index] = StringIO()
            if delta["role"]:
                self.roles[index] = delta["role"]
            content = delta["content"]
            if content is not None:
                self.has_content.add(index)
                parts.write(content)
            if delta["reasoning"]:
                reasoning = self.reasoning.get(index)
                if reasoning is None:
                    reasoning = self.reasoning[index] = StringIO()
                reasoning.write(delta["reasoning"])
            if delta["tool_calls"]:
                self._add_calls(index, delta["tool_calls"])
            logprobs = got["logprobs"]
            if logprobs is not None and logprobs.content:
                self.logprob_items.setdefault(index, []).extend(logprobs.content)
            reason = got["finish_reason"]
            if reason is not None:
                self.finish[index] = (reason, got["stop_reason"])
                self.finished[index] = reason

    def _add_calls(self, index: int, deltas: list[Any]) -> None:
        calls = self.calls.setdefault(index, {})
        for call in deltas:
            acc = calls.get(call.index)
            if acc is None:
                acc = calls[call.index] = _ToolCall()
            if call.id:
                acc.id = call.id
            if call.type:
                acc.type = call.type
            if call.function is not None:
                name = call.function.name
                # vLLM sends the name once; llama.cpp repeats it whole in every delta.
                if name and name != acc.name:
                    acc.name += name
                if call.function.arguments:
                    acc.arguments.append(call.function.arguments)

    def text(self) -> str:
        """The content of choice 0 so far."""
        return _joined(self.contents.get(0))

    def result(self, request_id: str | None = None) -> ChatCompletion:
        """The answer the chunks so far make."""
        choices = []
        for index in sorted(self.contents):
            tool_calls = [
                ChatCompletionMessageToolCall(
                    id=acc.id,
                    type=acc.type,
                    function=Function(name=acc.name, arguments="".join(acc.arguments)),
                )
                for _, acc in sorted(self.calls.get(index, {}).items())
            ]
            has_content = index in self.has_content or not tool_calls
            reasoning = self.reasoning.get(index)
            message = ChatCompletionMessage(
                role=self.roles.get(index, "assistant"),
                content=self.contents[index].getvalue() if has_content else None,
                reasoning=reasoning.getvalue() if reasoning is not None else None,
                tool_calls=tool_calls or None,
            )
            finish_reason, stop_reason = self.finish.get(index, (None, None))
            items = self.logprob_items.get(index)
            choices.append(
                Choice(
                    index=index,
                    message=message,
                    logprobs=ChoiceLogprobs(content=items) if items is not None else None,
                    finish_reason=finish_reason,
                    stop_reason=stop_reason,
                )
            )
        return self._answer(ChatCompletion, choices, request_id)
