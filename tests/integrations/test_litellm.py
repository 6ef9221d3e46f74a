"""LiteLLM on a deployment: odsc_llm.integrations.litellm.register() and model="odsc/...".

Runs in the openai-3 environment (tests/integrations/conftest.py), against the emulator
of each deployment kind with the routing that fits it. LiteLLM's price-list download is
off (``LITELLM_LOCAL_MODEL_COST_MAP``, set in the conftest and by the module).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import litellm
import pytest

from odsc_llm import InvalidRequestError
from odsc_llm.integrations import litellm as odsc_litellm

from ..support.deployments import DeploymentKind
from ..support.frameworks import (
    STREAM_PROMPT,
    TOOL_PROMPT,
    TOOL_RESULT,
    City,
    assert_signed_and_routed,
    assert_tool_round_trip,
    get_weather,
    routes,
    streamed,
)

pytestmark = pytest.mark.openai3

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Today's weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture
def odsc(deployment_kind: DeploymentKind) -> Iterator[str]:
    """The provider registered for this emulator; yields the model name to call."""
    saved = list(litellm.custom_provider_map)
    odsc_litellm.register(deployment_kind.local.auth, routing=deployment_kind.routing)  # type: ignore[arg-type]
    yield f"odsc/{deployment_kind.local.url}"
    litellm.custom_provider_map = saved


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def test_completion(odsc: str, deployment_kind: DeploymentKind) -> None:
    local = deployment_kind.local
    answer = litellm.completion(model=odsc, messages=_user("hi there"), temperature=0.1)
    assert answer.choices[0].message.content == "You said: hi there"
    body = local.requests[0].json()
    assert body["model"] == "odsc-llm" and body["temperature"] == 0.1
    assert routes(local, deployment_kind.routing) == ["/v1/chat/completions"]
    assert_signed_and_routed(local, deployment_kind.routing)


def test_stream(odsc: str, deployment_kind: DeploymentKind) -> None:
    stream = litellm.completion(model=odsc, messages=_user(STREAM_PROMPT), stream=True)
    parts = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert len([p for p in parts if p]) > 1, parts
    assert "".join(parts) == f"You said: {STREAM_PROMPT}"
    assert streamed(deployment_kind.local)
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


def test_tool_round_trip(odsc: str, deployment_kind: DeploymentKind) -> None:
    messages = _user(TOOL_PROMPT)
    first = litellm.completion(model=odsc, messages=messages, tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    result = get_weather(**json.loads(call.function.arguments))
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": result},
    ]
    final = litellm.completion(model=odsc, messages=messages, tools=[WEATHER_TOOL])
    assert TOOL_RESULT in final.choices[0].message.content
    assert_tool_round_trip(deployment_kind.local)
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


def test_streamed_tool_call(odsc: str, deployment_kind: DeploymentKind) -> None:
    stream = litellm.completion(
        model=odsc, messages=_user(TOOL_PROMPT), tools=[WEATHER_TOOL], stream=True
    )
    answer = litellm.stream_chunk_builder(list(stream))
    call = answer.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert set(json.loads(call.function.arguments)) == {"city"}


def test_structured_answer(odsc: str, deployment_kind: DeploymentKind) -> None:
    answer = litellm.completion(
        model=odsc, messages=_user("Name a big city and its population."), response_format=City
    )
    City.model_validate_json(answer.choices[0].message.content)
    assert deployment_kind.local.requests[0].json()["response_format"]["type"] == "json_schema"
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


async def test_acompletion_and_astream(odsc: str, deployment_kind: DeploymentKind) -> None:
    answer = await litellm.acompletion(model=odsc, messages=_user("hello"))
    assert answer.choices[0].message.content == "You said: hello"
    stream = await litellm.acompletion(model=odsc, messages=_user(STREAM_PROMPT), stream=True)
    parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    assert len([p for p in parts if p]) > 1
    assert "".join(parts) == f"You said: {STREAM_PROMPT}"
    assert streamed(deployment_kind.local)
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


async def test_embeddings(odsc: str, deployment_kind: DeploymentKind) -> None:
    result = litellm.embedding(model=odsc, input=["a cat", "a dog"])
    assert len(result.data) == 2 and len(result.data[0]["embedding"]) > 0
    again = await litellm.aembedding(model=odsc, input=["a cat"])
    assert again.data[0]["embedding"] == result.data[0]["embedding"]
    assert routes(deployment_kind.local, deployment_kind.routing) == ["/v1/embeddings"] * 2
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


async def test_router(odsc: str, deployment_kind: DeploymentKind) -> None:
    router = litellm.Router(model_list=[{"model_name": "mine", "litellm_params": {"model": odsc}}])
    answer = router.completion(model="mine", messages=_user("hi there"))
    assert answer.choices[0].message.content == "You said: hi there"
    answer = await router.acompletion(model="mine", messages=_user("hello"))
    assert answer.choices[0].message.content == "You said: hello"
    assert len(deployment_kind.local.requests) == 2
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


def test_register_replaces_its_own_entry(odsc: str, deployment_kind: DeploymentKind) -> None:
    before = len(litellm.custom_provider_map)
    odsc_litellm.register(deployment_kind.local.auth, routing="header")
    assert len(litellm.custom_provider_map) == before
    entry = litellm.custom_provider_map[-1]
    assert entry["provider"] == "odsc"
    assert isinstance(entry["custom_handler"], litellm.CustomLLM)


@pytest.mark.parametrize("provider", ["", "od/sc"])
def test_bad_provider_name_is_a_typed_error(provider: str) -> None:
    with pytest.raises(InvalidRequestError, match="provider"):
        odsc_litellm.register(provider=provider)


def test_bad_routing_is_a_typed_error() -> None:
    with pytest.raises(InvalidRequestError, match="routing"):
        odsc_litellm.handler(routing="query")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, "RateLimitError"), (404, "NotFoundError"), (503, "ServiceUnavailableError")],
)
def test_deployment_errors_are_litellm_errors(
    deployment_kind: DeploymentKind, status: int, error: str
) -> None:
    """LiteLLM's retries and Router fallbacks key on its own exception classes."""
    saved = list(litellm.custom_provider_map)
    local = deployment_kind.local
    try:
        odsc_litellm.register(local.auth, routing=deployment_kind.routing, max_retries=0)  # type: ignore[arg-type]
        local.faults.push(status=status, retry_after=0)
        with pytest.raises(getattr(litellm, error)) as caught:
            litellm.completion(model=f"odsc/{local.url}", messages=_user("hi"))
        assert caught.value.status_code == status
        assert len(local.requests) == 1  # max_retries=0 reached the OpenAI client
    finally:
        litellm.custom_provider_map = saved


def test_extra_body_names_another_served_model(odsc: str, deployment_kind: DeploymentKind) -> None:
    # The emulator serves "odsc-llm" only and, like vLLM, answers another name 404.
    with pytest.raises(litellm.NotFoundError):
        litellm.completion(
            model=odsc, messages=_user("hi"), extra_body={"model": "another-model"}, num_retries=0
        )
    assert deployment_kind.local.requests[-1].json()["model"] == "another-model"


def test_a_model_that_names_no_deployment_says_so(odsc: str) -> None:
    with pytest.raises(litellm.APIConnectionError, match="not a deployment URL"):
        litellm.completion(model="odsc/not-a-deployment", messages=_user("hi"))
