"""Checked by ``mypy --strict`` in .ci/run (not run by pytest): ``responses`` overloads."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from typing_extensions import assert_type

import odsc_llm
from odsc_llm.types.responses import ParsedResponse, Response, ResponseStreamEvent


class Answer(BaseModel):
    text: str


def sync_overloads(client: odsc_llm.Client, flag: bool) -> None:
    assert_type(client.responses.create(input="x"), Response)
    assert_type(client.responses.create(input="x", stream=False), Response)
    assert_type(client.responses.create(input="x", stream=True), odsc_llm.ResponseStream)
    assert_type(client.responses.create(input="x", stream=flag), Response | odsc_llm.ResponseStream)
    with client.responses.create(input="x", stream=True) as stream:
        for event in stream:
            assert_type(event, ResponseStreamEvent)
        assert_type(stream.get_final_response(), Response)
    parsed = client.responses.parse(input="x", text_format=Answer, instructions="json")
    assert_type(parsed, ParsedResponse[Answer])
    assert_type(parsed.output_parsed, Answer | None)
    assert_type(client.responses.parse(input="x", text_format={}), ParsedResponse[Any])
    assert_type(client.responses.retrieve("resp_1", timeout=5), Response)
    assert_type(client.responses.cancel("resp_1"), Response)


async def async_overloads(client: odsc_llm.AsyncClient, flag: bool) -> None:
    assert_type(await client.responses.create(input="x"), Response)
    stream = await client.responses.create(input="x", stream=True)
    assert_type(stream, odsc_llm.AsyncResponseStream)
    async for event in stream:
        assert_type(event, ResponseStreamEvent)
    async for piece in stream.text():
        assert_type(piece, str)
    assert_type(await stream.get_final_response(), Response)
    assert_type(
        await client.responses.create(input="x", stream=flag),
        Response | odsc_llm.AsyncResponseStream,
    )
    parsed = await client.responses.parse(input="x", text_format=Answer)
    assert_type(parsed.output_parsed, Answer | None)
    assert_type(await client.responses.retrieve("resp_1"), Response)
    assert_type(await client.responses.cancel("resp_1"), Response)
