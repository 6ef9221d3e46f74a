"""Joining stream chunks: the text of one chunk, and the answer a whole stream makes.

No I/O: used by the streams (``text()``, ``get_final_completion()``,
``StreamError.partial_text``) and by the CLI.
"""

from __future__ import annotations

from typing import Any

from .types._base import ResponseType
from .types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceLogprobs,
    Function,
)
from .types.completion import Completion, CompletionChoice, CompletionLogprobs

__all__ = ["accumulate", "chunk_reasoning", "chunk_text", "partial_text"]


def chunk_text(chunk: ResponseType) -> str | None:
    """The new text of choice 0 of a completion or chat chunk (None if it has none)."""
    if isinstance(chunk, ChatCompletionChunk):
        return chunk.choices[0].delta.content if chunk.choices else None
    if isinstance(chunk, Completion):
        return chunk.choices[0].text if chunk.choices else None
    return None


def chunk_reasoning(chunk: ResponseType) -> str | None:
    """The new thinking of choice 0 of a chat chunk (``reasoning``; None if it has none)."""
    if isinstance(chunk, ChatCompletionChunk) and chunk.choices:
        return chunk.choices[0].delta.reasoning
    return None


def partial_text(chunks: list[Any]) -> str:
    """The text of choice 0 joined over ``chunks``."""
    return "".join(piece for piece in map(chunk_text, chunks) if piece)


def accumulate(chunks: list[Any], request_id: str | None = None) -> Completion | ChatCompletion:
    """Join stream chunks into the answer the non-streaming call would have given."""
    if chunks and isinstance(chunks[0], ChatCompletionChunk):
        result: Completion | ChatCompletion = _accumulate_chat(chunks)
    else:
        result = _accumulate_completion(chunks)
    result._set_request_id(request_id)
    return result


def _accumulate_completion(chunks: list[Completion]) -> Completion:
    texts: dict[int, list[str]] = {}
    finals: dict[int, CompletionChoice] = {}
    logprobs: dict[int, CompletionLogprobs] = {}
    head: Completion | None = None
    usage = None
    for chunk in chunks:
        head = head or chunk
        usage = chunk.usage or usage
        for choice in chunk.choices:
            texts.setdefault(choice.index, []).append(choice.text)
            if choice.finish_reason is not None or choice.index not in finals:
                finals[choice.index] = choice
            if choice.logprobs is not None:
                acc = logprobs.setdefault(choice.index, CompletionLogprobs())
                for field in ("text_offset", "token_logprobs", "tokens", "top_logprobs"):
                    piece = getattr(choice.logprobs, field)
                    if piece is not None:
                        setattr(acc, field, (getattr(acc, field) or []) + list(piece))
    choices = [
        CompletionChoice(
            index=index,
            text="".join(texts[index]),
            logprobs=logprobs.get(index),
            finish_reason=finals[index].finish_reason,
            stop_reason=finals[index].stop_reason,
        )
        for index in sorted(texts)
    ]
    return Completion(
        id=head.id if head else "",
        created=head.created if head else 0,
        model=head.model if head else "",
        choices=choices,
        usage=usage,
    )


def _accumulate_chat(chunks: list[ChatCompletionChunk]) -> ChatCompletion:
    contents: dict[int, list[str]] = {}
    # Choices whose deltas carried a content field at all (even ""): their joined
    # content is a string, as in the non-streamed answer; others' is None.
    has_content: set[int] = set()
    reasoning: dict[int, list[str]] = {}
    roles: dict[int, str] = {}
    finish: dict[int, tuple[str | None, int | str | None]] = {}
    calls: dict[int, dict[int, dict[str, Any]]] = {}
    logprob_items: dict[int, list[Any]] = {}
    usage = None
    for chunk in chunks:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            index = choice.index
            delta = choice.delta
            contents.setdefault(index, [])
            if delta.role:
                roles[index] = delta.role
            if delta.content is not None:
                has_content.add(index)
                contents[index].append(delta.content)
            if delta.reasoning:
                reasoning.setdefault(index, []).append(delta.reasoning)
            for call in delta.tool_calls or ():
                acc = calls.setdefault(index, {}).setdefault(
                    call.index, {"id": "", "type": "function", "name": "", "arguments": ""}
                )
                if call.id:
                    acc["id"] = call.id
                if call.type:
                    acc["type"] = call.type
                if call.function is not None:
                    name = call.function.name
                    # vLLM sends the name once; llama.cpp repeats it whole in every delta.
                    if name and name != acc["name"]:
                        acc["name"] += name
                    acc["arguments"] += call.function.arguments or ""
            if choice.logprobs is not None and choice.logprobs.content:
                logprob_items.setdefault(index, []).extend(choice.logprobs.content)
            if choice.finish_reason is not None:
                finish[index] = (choice.finish_reason, choice.stop_reason)
    choices = []
    for index in sorted(contents):
        tool_calls = [
            ChatCompletionMessageToolCall(
                id=acc["id"],
                type=acc["type"],
                function=Function(name=acc["name"], arguments=acc["arguments"]),
            )
            for _, acc in sorted(calls.get(index, {}).items())
        ]
        message = ChatCompletionMessage(
            role=roles.get(index, "assistant"),
            content="".join(contents[index]) if index in has_content or not tool_calls else None,
            reasoning="".join(reasoning[index]) if index in reasoning else None,
            tool_calls=tool_calls or None,
        )
        finish_reason, stop_reason = finish.get(index, (None, None))
        choices.append(
            Choice(
                index=index,
                message=message,
                logprobs=ChoiceLogprobs(content=logprob_items[index])
                if index in logprob_items
                else None,
                finish_reason=finish_reason,
                stop_reason=stop_reason,
            )
        )
    head = chunks[0] if chunks else None
    return ChatCompletion(
        id=head.id if head else "",
        created=head.created if head else 0,
        model=head.model if head else "",
        choices=choices,
        usage=usage,
    )
