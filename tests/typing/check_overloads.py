"""Checked by ``mypy --strict`` in .ci/run (not run by pytest): the ``stream`` overloads."""

from __future__ import annotations

from typing_extensions import assert_type

import odsc_llm
from odsc_llm.types import ChatCompletion, ChatCompletionChunk, Completion


def sync_overloads(client: odsc_llm.Client, flag: bool) -> None:
    assert_type(client.completions.create(prompt="x"), Completion)
    assert_type(client.completions.create(prompt="x", stream=False), Completion)
    assert_type(client.completions.create(prompt="x", stream=True), odsc_llm.Stream[Completion])
    assert_type(
        client.completions.create(prompt="x", stream=flag),
        Completion | odsc_llm.Stream[Completion],
    )
    messages = [{"role": "user", "content": "hi"}]
    assert_type(client.chat.completions.create(messages=messages), ChatCompletion)
    assert_type(
        client.chat.completions.create(messages=messages, stream=True),
        odsc_llm.Stream[ChatCompletionChunk],
    )
    assert_type(
        client.chat.completions.create(messages=messages, stream=flag),
        ChatCompletion | odsc_llm.Stream[ChatCompletionChunk],
    )
    for chunk in client.chat.completions.create(messages=messages, stream=True):
        assert_type(chunk, ChatCompletionChunk)


async def async_overloads(client: odsc_llm.AsyncClient, flag: bool) -> None:
    assert_type(await client.completions.create(prompt="x"), Completion)
    assert_type(
        await client.completions.create(prompt="x", stream=True),
        odsc_llm.AsyncStream[Completion],
    )
    assert_type(
        await client.completions.create(prompt="x", stream=flag),
        Completion | odsc_llm.AsyncStream[Completion],
    )
    stream = await client.chat.completions.create(
        messages=[{"role": "user", "content": "hi"}], stream=True, temperature=0.2
    )
    async with stream:
        async for chunk in stream:
            assert_type(chunk, ChatCompletionChunk)
