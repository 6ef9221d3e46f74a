"""Checked by ``mypy --strict`` in .ci/run (not run by pytest): the AQUA surface's types."""

from __future__ import annotations

from pydantic import BaseModel
from typing_extensions import assert_type

import odsc_llm
from odsc_llm.types import (
    DetokenizeResponse,
    Model,
    ModelList,
    ParsedChatCompletion,
    RerankResponse,
    TokenizeResponse,
)


class City(BaseModel):
    name: str


def sync_surface(client: odsc_llm.Client) -> None:
    messages = [{"role": "user", "content": "hi"}]
    parsed = client.chat.completions.parse(messages=messages, response_format=City)
    assert_type(parsed, ParsedChatCompletion[City])
    assert_type(parsed.choices[0].message.parsed, City | None)
    final = client.chat.completions.parse_stream(messages=messages, response_format=City)
    assert_type(final.get_final_completion(), ParsedChatCompletion[City])
    assert_type(client.models.list(), ModelList)
    assert_type(client.models.retrieve("x"), Model)
    models = client.models.list()
    for model in models:  # iterates its models, as openai's pages do
        assert_type(model, Model)
        assert_type(model.id, str)
    assert_type(models[0], Model)
    assert_type(len(models), int)
    assert_type(client.tokenize(prompt="x"), TokenizeResponse)
    assert_type(client.detokenize([1, 2]), DetokenizeResponse)
    assert_type(client.rerank.create("q", ["d"], top_n=1), RerankResponse)
    for piece in client.chat.completions.create(messages=messages, stream=True).reasoning_text():
        assert_type(piece, str)
    message = client.chat.completions.create(messages=messages).choices[0].message
    assert_type(message.reasoning, str | None)
    for call in message.tool_calls or []:
        assert_type(call.parsed_arguments(City), City)


async def async_surface(client: odsc_llm.AsyncClient) -> None:
    messages = [{"role": "user", "content": "hi"}]
    parsed = await client.chat.completions.parse(messages=messages, response_format=City)
    assert_type(parsed, ParsedChatCompletion[City])
    stream = await client.chat.completions.parse_stream(messages=messages, response_format=City)
    assert_type(await stream.get_final_completion(), ParsedChatCompletion[City])
    assert_type(await client.models.list(), ModelList)
    assert_type([m.id for m in await client.models.list()], list[str])
    assert_type(await client.tokenize(messages=messages), TokenizeResponse)
    assert_type(await client.rerank.create("q", ["d"]), RerankResponse)
