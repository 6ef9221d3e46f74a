"""Structured output: ``chat.completions.parse`` / ``parse_stream`` and their typed errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, TypeAdapter
from pytest_httpx import HTTPXMock

import odsc_llm
from odsc_llm._errors import (
    ContentRefusalError,
    LengthFinishReasonError,
    OutputValidationError,
    StructuredOutputError,
)
from odsc_llm.testing import LocalDeployment, reply_text
from odsc_llm.types.parsed import ParsedChatCompletion

from .support.aqua import MODES, call, client_of, collect

pytest.importorskip("uvicorn")


class City(BaseModel):
    name: str
    population: int
    capital: bool


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def local(odsc_llm_local: LocalDeployment) -> LocalDeployment:
    return odsc_llm_local


@pytest.mark.parametrize("mode", MODES)
async def test_parse_pydantic_model(local: LocalDeployment, mode: str) -> None:
    async with client_of(local, mode) as client:
        r = await call(client.chat.completions.parse(messages=ask("Paris"), response_format=City))
    assert isinstance(r, ParsedChatCompletion)
    city = r.choices[0].message.parsed
    assert isinstance(city, City)
    assert city == City(name=reply_text("Paris"), population=0, capital=True)
    assert r.parsed == city
    assert json.loads(r.choices[0].message.content or "") == city.model_dump()
    assert r.request_id == local.requests[-1].request_id
    sent = local.requests[-1].json()["response_format"]
    assert sent == {
        "type": "json_schema",
        "json_schema": {"name": "City", "schema": City.model_json_schema(), "strict": True},
    }


@pytest.mark.parametrize("mode", MODES)
async def test_parse_typeadapter_types_and_dict_schema(local: LocalDeployment, mode: str) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}}
    async with client_of(local, mode) as client:
        ints = await call(
            client.chat.completions.parse(messages=ask("x"), response_format=list[int])
        )
        adapter = await call(
            client.chat.completions.parse(messages=ask("x"), response_format=TypeAdapter(City))
        )
        plain = await call(client.chat.completions.parse(messages=ask("x"), response_format=schema))
    assert ints.parsed == [0]
    assert isinstance(adapter.parsed, City)
    assert plain.parsed == {"n": 3}  # a dict schema gives the decoded JSON
    assert local.requests[-1].json()["response_format"]["json_schema"]["schema"] == schema


@pytest.mark.parametrize("mode", MODES)
async def test_answer_that_does_not_validate(local: LocalDeployment, mode: str) -> None:
    bad = '{"name": "Paris", "population": "many"}'  # the emulator echoes a JSON prompt
    async with client_of(local, mode) as client:
        with pytest.raises(OutputValidationError) as info:
            await call(client.chat.completions.parse(messages=ask(bad), response_format=City))
    error = info.value
    assert isinstance(error, StructuredOutputError)
    assert error.raw == bad
    assert {tuple(e["loc"]) for e in error.errors} == {("population",), ("capital",)}
    assert "does not validate as City: 2 error(s)" in str(error)


@pytest.mark.parametrize("mode", MODES)
async def test_cut_at_max_tokens_is_a_length_error(local: LocalDeployment, mode: str) -> None:
    async with client_of(local, mode) as client:
        with pytest.raises(LengthFinishReasonError, match="max_tokens") as info:
            await call(
                client.chat.completions.parse(
                    messages=ask("Paris"), response_format=City, max_tokens=2
                )
            )
    assert info.value.raw == '{"name": "You'


@pytest.mark.parametrize("mode", MODES)
async def test_refusal_is_a_typed_error(httpx_mock: HTTPXMock, mode: str) -> None:
    answer = {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "refusal": "I can't."},
                "finish_reason": "stop",
            }
        ]
    }
    httpx_mock.add_response(json=answer)
    cls = odsc_llm.Client if mode == "sync" else odsc_llm.AsyncClient
    client: Any = cls(deployment=_URL, auth=_NoAuth(), max_retries=0)
    with pytest.raises(ContentRefusalError, match="I can't"):
        await call(client.chat.completions.parse(messages=ask("x"), response_format=City))
    await call(client.close())


@pytest.mark.parametrize("mode", MODES)
async def test_parse_stream_final_completion_is_parsed(local: LocalDeployment, mode: str) -> None:
    async with client_of(local, mode) as client:
        stream = await call(
            client.chat.completions.parse_stream(messages=ask("Oslo"), response_format=City)
        )
        pieces = await collect(stream.text())
        final = await call(stream.get_final_completion())
        full = await call(client.chat.completions.parse(messages=ask("Oslo"), response_format=City))
    assert len(pieces) > 1
    assert "".join(pieces) == full.choices[0].message.content
    assert final.parsed == full.parsed == City(name=reply_text("Oslo"), population=0, capital=True)
    assert final.request_id == stream.request_id
    assert local.requests[-2].json()["stream"] is True


@pytest.mark.parametrize("mode", MODES)
async def test_parse_stream_cut_short_is_a_length_error(local: LocalDeployment, mode: str) -> None:
    async with client_of(local, mode) as client:
        stream = await call(
            client.chat.completions.parse_stream(
                messages=ask("Oslo"), response_format=City, max_tokens=3
            )
        )
        with pytest.raises(LengthFinishReasonError):
            await call(stream.get_final_completion())


def test_parse_refuses_bad_arguments(local: LocalDeployment) -> None:
    with local.client() as client:
        with pytest.raises(odsc_llm.errors.InvalidRequestError, match="response_format must be"):
            client.chat.completions.parse(messages=ask("x"), response_format=object())
        with pytest.raises(TypeError, match="unexpected keyword"):
            client.chat.completions.parse(messages=ask("x"), response_format=City, stream=True)  # type: ignore[call-arg]
    assert local.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_parse_refuses_a_function_as_response_format(
    local: LocalDeployment, mode: str
) -> None:
    """pydantic would validate the answer by calling the function: refused, not run."""
    ran: list[object] = []

    def city(name: str) -> str:
        ran.append(name)
        return name

    async with client_of(local, mode) as client:
        with pytest.raises(odsc_llm.errors.InvalidRequestError, match="would call it"):
            await call(client.chat.completions.parse(messages=ask("x"), response_format=city))
    assert ran == [] and local.requests == []


def test_emulator_structured_outputs_and_ignored_guided_json(local: LocalDeployment) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    with local.client() as client:
        new = client.chat.completions.create(
            messages=ask("x"), extra_body={"structured_outputs": {"json": schema}}
        )
        old = client.chat.completions.create(messages=ask("x"), extra_body={"guided_json": schema})
    assert json.loads(new.text) == {"ok": True}
    # vLLM >= 0.12 ignores guided_json silently (200, unconstrained): so does the emulator.
    assert old.text == reply_text("x")


class _NoAuth(httpx.Auth):
    """Mocked transports need no signature."""


_URL = "https://md.example.com/ocid1.datasciencemodeldeployment.oc1.iad.x"
