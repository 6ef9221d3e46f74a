"""The AQUA surface against llama-cpp-python (behind the gateway): what that server supports.

Tested with llama-cpp-python 0.3.x: ``GET /v1/models``, tools with a named
``tool_choice`` (grammar-constrained arguments, streamed and not), ``json_object`` with a
schema. Not served by it, and checked to fail with a clear typed error: vLLM's
``/tokenize`` (it has ``/extras/tokenize`` instead), the ``json_schema``
``response_format`` (its request model accepts only ``text`` and ``json_object``), and
the Responses API (``/v1/responses``: its server has no such route, so the Responses API
is proven against the emulator only; this tier tells when a release adds it).
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel

import odsc_llm
from odsc_llm._tools import function_tool
from odsc_llm.types import ChatCompletion

from .conftest import Gateway

pytestmark = pytest.mark.real_model


class City(BaseModel):
    name: str
    population: int


MESSAGES = [{"role": "user", "content": "Paris has 2 million people. Record the city."}]
TOOLS = [function_tool(City, name="record_city", description="Record a city")]
FORCED = {"type": "function", "function": {"name": "record_city"}}


def test_models_list_through_the_gateway(client: odsc_llm.Client, gateway: Gateway) -> None:
    models = client.models.list()
    assert models.ids == ["odsc-llm"]  # the server's --model_alias
    assert client.models.retrieve("odsc-llm").owned_by
    request = gateway.local.requests[-1]
    assert (request.method, request.status) == ("GET", 200)
    assert request.headers["content-length"] == "0"


async def test_async_models_list(aclient: odsc_llm.AsyncClient) -> None:
    assert (await aclient.models.list()).ids == ["odsc-llm"]


def test_forced_tool_call_streamed_and_not(client: odsc_llm.Client) -> None:
    params: dict[str, object] = {"tools": TOOLS, "tool_choice": FORCED, "max_tokens": 60}
    full = client.chat.completions.create(messages=MESSAGES, temperature=0, **params)  # type: ignore[arg-type]
    stream = client.chat.completions.create(
        messages=MESSAGES,
        temperature=0,
        stream=True,
        **params,  # type: ignore[arg-type]
    )
    joined = stream.get_final_completion()
    assert isinstance(joined, ChatCompletion)
    for answer in (full, joined):
        choice = answer.choices[0]
        assert choice.finish_reason == "tool_calls"
        (tool_call,) = choice.message.tool_calls or []
        # llama.cpp repeats the name in every delta: joined once, not N times.
        assert tool_call.function.name == "record_city"
        assert isinstance(tool_call.parsed_arguments(City), City)  # grammar-constrained
    # Field for field where the server is consistent: content (None from llama.cpp).
    assert joined.choices[0].message.content == full.choices[0].message.content


def test_function_tool_from_a_function(client: odsc_llm.Client) -> None:
    # Integers only: the grammar keeps the arguments short (a 135M model's strings can
    # run on until max_tokens cuts them).
    def set_alarm(hour: int, minute: int) -> None:
        """Set an alarm."""

    r = client.chat.completions.create(
        messages=[{"role": "user", "content": "Wake me at 7 for work."}],
        tools=[function_tool(set_alarm)],
        tool_choice={"type": "function", "function": {"name": "set_alarm"}},
        max_tokens=40,
        temperature=0,
    )
    (tool_call,) = r.choices[0].message.tool_calls or []
    args = tool_call.parsed_arguments(dict[str, object])
    assert set(args) == {"hour", "minute"} and isinstance(args["hour"], int)


def test_parse_with_llama_cpp_json_object_schema(client: odsc_llm.Client) -> None:
    r = client.chat.completions.parse(
        messages=[{"role": "user", "content": "Give a city and its population as JSON."}],
        response_format={"type": "json_object", "schema": City.model_json_schema()},
        max_tokens=60,
        temperature=0,
    )
    city = City.model_validate(r.parsed)
    assert city.name is not None


def test_json_schema_response_format_is_refused_clearly(client: odsc_llm.Client) -> None:
    with pytest.raises(odsc_llm.APIStatusError) as info:
        client.chat.completions.parse(messages=MESSAGES, response_format=City, max_tokens=20)
    # llama-cpp-python's own validation error, readable in the message.
    assert "json_object" in info.value.message
    assert info.value.request_id


def test_vllm_tokenize_route_is_not_served(client: odsc_llm.Client) -> None:
    with pytest.raises(odsc_llm.NotFoundError):
        client.tokenize(prompt="hello world")


def test_responses_api_is_not_served(client: odsc_llm.Client, gateway: Gateway) -> None:
    """llama-cpp-python's server has no ``/v1/responses``: the call reaches it, signed and
    routed, and fails with a typed 404, never a silent or malformed answer. When a
    release serves it, this fails: then add the Responses cases to this tier."""
    with pytest.raises(odsc_llm.NotFoundError) as info:
        client.responses.create(input="Hello", max_output_tokens=4)
    assert info.value.request_id
    request = gateway.local.requests[-1]
    assert request.headers["route"] == "/v1/responses" and request.status == 404


def test_llama_cpp_ignores_the_model_name(gateway: Gateway) -> None:
    # A single-model llama.cpp server answers any model name (vLLM would 404).
    with odsc_llm.Client(
        deployment=gateway.deployment, auth=gateway.auth, model="not-served", max_retries=0
    ) as client:
        r = client.completions.create(prompt="Hello", max_tokens=4, temperature=0)
    assert r.choices[0].text
    assert gateway.local.requests[-1].json()["model"] == "not-served"
