"""pydantic-ai's Agent on a deployment through odsc_llm.integrations.pydantic_ai.

Runs in the openai-3 environment (tests/integrations/conftest.py), against the emulator
of each deployment kind with the routing that fits it.
"""

from __future__ import annotations

import pytest
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import UsageLimits

from odsc_llm import InvalidRequestError
from odsc_llm.integrations.pydantic_ai import model

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


def _model(kind: DeploymentKind, **settings: object) -> OpenAIChatModel:
    return model(kind.local.url, auth=kind.local.auth, routing=kind.routing, **settings)  # type: ignore[arg-type]


def test_chat(deployment_kind: DeploymentKind) -> None:
    local = deployment_kind.local
    llm = _model(deployment_kind, settings=ModelSettings(temperature=0.1))
    assert isinstance(llm, OpenAIChatModel)
    result = Agent(llm).run_sync("hi there")
    assert result.output == "You said: hi there"
    body = local.requests[0].json()
    assert body["model"] == "odsc-llm" and body["temperature"] == 0.1
    assert routes(local, deployment_kind.routing) == ["/v1/chat/completions"]
    assert_signed_and_routed(local, deployment_kind.routing)


async def test_stream(deployment_kind: DeploymentKind) -> None:
    agent = Agent(_model(deployment_kind))
    async with agent.run_stream(STREAM_PROMPT) as run:
        parts = [part async for part in run.stream_text(delta=True, debounce_by=None)]
    assert len(parts) > 1, parts
    assert "".join(parts) == f"You said: {STREAM_PROMPT}"
    assert streamed(deployment_kind.local)
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


def test_tool_round_trip(deployment_kind: DeploymentKind) -> None:
    agent = Agent(_model(deployment_kind), tools=[get_weather])
    # A model answers after the tool's result: a second call of the tool is a loop.
    result = agent.run_sync(TOOL_PROMPT, usage_limits=UsageLimits(request_limit=3))
    assert TOOL_RESULT in result.output  # the answer uses the tool's result
    assert_tool_round_trip(deployment_kind.local)
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


async def test_structured_answer_async(deployment_kind: DeploymentKind) -> None:
    agent = Agent(_model(deployment_kind), output_type=City)
    result = await agent.run("Name a big city and its population.")
    assert isinstance(result.output, City)
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


def test_bad_routing_is_a_typed_error(deployment_kind: DeploymentKind) -> None:
    with pytest.raises(InvalidRequestError, match="routing"):
        model(deployment_kind.local.url, auth=deployment_kind.local.auth, routing="query")  # type: ignore[arg-type]
