"""Merging stream chunks as they arrive gives the very answer joining them all gave.

The reference is the former implementation (every chunk kept, joined at the end), copied
below; hypothesis draws chunk sequences with text, reasoning, tool calls split by index
(vLLM's shape and llama.cpp's), logprobs, usage, several choices and finish reasons. The
streams are checked too, sync and async, through ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odsc_llm import AsyncStream, Stream
from odsc_llm._streaming._accumulate import accumulate
from odsc_llm.types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceLogprobs,
    Function,
)
from odsc_llm.types.completion import Completion, CompletionChoice, CompletionLogprobs

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- the former implementation, verbatim: the reference ----------------------------------


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


def reference(chunks: list[Any]) -> Completion | ChatCompletion:
    if chunks and isinstance(chunks[0], ChatCompletionChunk):
        return _accumulate_chat(chunks)
    return _accumulate_completion(chunks)


# -- chunk sequences -----------------------------------------------------------------------

small_text = st.text(alphabet='ab é{}":', max_size=4)
indexes = st.integers(0, 2)
maybe_usage = st.one_of(
    st.none(),
    st.builds(
        lambda p, c: {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
        st.integers(0, 9),
        st.integers(0, 9),
    ),
)
finish = st.sampled_from([None, None, None, "stop", "length", "tool_calls"])
stop_reason = st.sampled_from([None, None, "###", 7])


@st.composite
def completion_chunks(draw: st.DrawFn) -> list[dict[str, Any]]:
    chunks = []
    for n in range(draw(st.integers(0, 6))):
        choices = []
        for _ in range(draw(st.integers(0, 2))):
            choice: dict[str, Any] = {
                "index": draw(indexes),
                "text": draw(small_text),
                "finish_reason": draw(finish),
                "stop_reason": draw(stop_reason),
            }
            if draw(st.booleans()):
                fields = draw(st.sets(st.sampled_from(["text_offset", "token_logprobs", "tokens"])))
                choice["logprobs"] = {
                    "text_offset": [n] if "text_offset" in fields else None,
                    "token_logprobs": [-0.5, None] if "token_logprobs" in fields else None,
                    "tokens": [draw(small_text)] if "tokens" in fields else None,
                }
            choices.append(choice)
        chunks.append(
            {
                "id": f"cmpl-{n}",
                "created": n,
                "model": f"m{n}",
                "choices": choices,
                "usage": draw(maybe_usage),
            }
        )
    return chunks


@st.composite
def chat_chunks(draw: st.DrawFn) -> list[dict[str, Any]]:
    chunks = []
    for n in range(draw(st.integers(0, 6))):
        choices = []
        for _ in range(draw(st.integers(0, 2))):
            delta: dict[str, Any] = {}
            if draw(st.booleans()):
                delta["role"] = draw(st.sampled_from(["assistant", "", "tool"]))
            if draw(st.booleans()):
                delta["content"] = draw(st.one_of(st.none(), small_text))
            if draw(st.booleans()):
                delta["reasoning"] = draw(st.one_of(st.none(), small_text))
            if draw(st.booleans()):
                delta["tool_calls"] = [
                    {
                        "index": draw(st.integers(0, 1)),
                        "id": draw(st.sampled_from([None, "", "call_1", "call_2"])),
                        "type": draw(st.sampled_from([None, "function"])),
                        "function": draw(
                            st.one_of(
                                st.none(),
                                st.fixed_dictionaries(
                                    {
                                        "name": st.sampled_from([None, "", "f", "get_city"]),
                                        "arguments": st.one_of(st.none(), small_text),
                                    }
                                ),
                            )
                        ),
                    }
                    for _ in range(draw(st.integers(1, 2)))
                ]
            choice: dict[str, Any] = {
                "index": draw(indexes),
                "delta": delta,
                "finish_reason": draw(finish),
                "stop_reason": draw(stop_reason),
            }
            if draw(st.booleans()):
                tokens = draw(st.lists(small_text, max_size=2))
                choice["logprobs"] = {
                    "content": [{"token": t, "logprob": -1.0} for t in tokens] or None
                }
            choices.append(choice)
        chunks.append(
            {
                "id": f"chat-{n}",
                "created": n,
                "model": f"m{n}",
                "choices": choices,
                "usage": draw(maybe_usage),
            }
        )
    return chunks


def check(merged: Any, expected: Any) -> None:
    assert merged == expected
    assert merged.to_dict() == expected.to_dict()  # the fields set, too


@PROPERTY
@given(chunks=completion_chunks())
def test_completion_chunks_merge_as_they_did(chunks: list[dict[str, Any]]) -> None:
    models = [Completion.model_validate(c) for c in chunks]
    again = [Completion.model_validate(c) for c in chunks]
    check(accumulate(models, request_id="r"), _with_id(reference(again), "r"))


@PROPERTY
@given(chunks=chat_chunks())
def test_chat_chunks_merge_as_they_did(chunks: list[dict[str, Any]]) -> None:
    models = [ChatCompletionChunk.model_validate(c) for c in chunks]
    again = [ChatCompletionChunk.model_validate(c) for c in chunks]
    check(accumulate(models, request_id="r"), _with_id(reference(again), "r"))


def _with_id(result: Any, request_id: str) -> Any:
    result._set_request_id(request_id)
    return result


# -- through the streams -------------------------------------------------------------------


class _Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        yield self.body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body


def _final(chunks: list[dict[str, Any]], chunk_type: Any, sync: bool) -> Any:
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    body += b"data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream", "opc-request-id": "req-1"}
        return httpx.Response(200, headers=headers, stream=_Body(body))

    transport = httpx.MockTransport(handler)
    if sync:
        with httpx.Client(transport=transport) as http:
            response = http.send(http.build_request("POST", "http://deployment/"), stream=True)
            with Stream(response, chunk_type) as stream:
                return stream.get_final_completion()

    async def read() -> Any:
        async with httpx.AsyncClient(transport=transport) as http:
            request = http.build_request("POST", "http://deployment/")
            response = await http.send(request, stream=True)
            async with AsyncStream(response, chunk_type) as stream:
                return await stream.get_final_completion()

    return asyncio.run(read())


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_a_streamed_answer_is_the_one_joined_from_all_its_chunks(sync: bool) -> None:
    def tool(index: int, **function: Any) -> dict[str, Any]:
        return {"index": index, "id": f"call_{index}", "type": "function", "function": function}

    def chunk(choices: list[dict[str, Any]], usage: Any = None) -> dict[str, Any]:
        return {"id": "chat-1", "created": 3, "model": "m", "choices": choices, "usage": usage}

    def delta(index: int, finish: str | None = None, **fields: Any) -> dict[str, Any]:
        return {"index": index, "delta": fields, "finish_reason": finish}

    logprob = {"content": [{"token": "x", "logprob": -0.1}]}
    usage = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
    calls = [tool(1, name="b", arguments='{"y"'), tool(0, name="a", arguments="{")]
    chunks = [
        chunk([delta(0, role="assistant", reasoning="think ")]),
        chunk([{**delta(1, content="second"), "logprobs": logprob}]),
        chunk([delta(0, reasoning="hard", tool_calls=calls)]),
        chunk([delta(0, tool_calls=[tool(0, arguments="}")])]),
        chunk([delta(0, "tool_calls", tool_calls=[tool(1, arguments=": 2}")])]),
        chunk([{**delta(1, "stop"), "stop_reason": 7}]),
        chunk([], usage=usage),
    ]
    final = _final(chunks, ChatCompletionChunk, sync)
    expected = reference([ChatCompletionChunk.model_validate(c) for c in chunks])
    _with_id(expected, "req-1")
    check(final, expected)
    assert final.request_id == "req-1"
    first, second = final.choices
    assert first.message.reasoning == "think hard" and first.message.content is None
    calls = [(c.function.name, c.function.arguments) for c in first.message.tool_calls or []]
    assert calls == [("a", "{}"), ("b", '{"y": 2}')]
    assert (second.message.content, second.stop_reason) == ("second", 7)
    assert second.logprobs is not None and second.logprobs.content
    assert final.usage is not None and final.usage.total_tokens == 8
