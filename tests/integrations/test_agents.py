"""The OpenAI Agents SDK on a deployment through odsc_llm.integrations.agents.

Runs in the openai-3 environment (tests/integrations/conftest.py), against the emulator
of each deployment kind with the routing that fits it. Tracing is off
(``OPENAI_AGENTS_DISABLE_TRACING``, set in the conftest): nothing leaves this machine.
"""

from __future__ import annotations

import pytest
from agents import Agent, ModelSettings, OpenAIChatCompletionsModel, Runner, function_tool
from openai.types.responses import ResponseTextDeltaEvent

from odsc_llm import InvalidRequestError
from odsc_llm.integrations.agents import model

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


def _agent(kind: DeploymentKind, **options: object) -> Agent:
    llm = model(kind.local.url, auth=kind.local.auth, routing=kind.routing)  # type: ignore[arg-type]
    assert isinstance(llm, OpenAIChatCompletionsModel)
    return Agent(name="helper", model=llm, **options)  # type: ignore[arg-type]


def test_chat(deployment_kind: DeploymentKind) -> None:
    local = deployment_kind.local
    agent = _agent(deployment_kind, model_settings=ModelSettings(temperature=0.1))
    result = Runner.run_sync(agent, "hi there")
    assert result.final_output == "You said: hi there"
    body = local.requests[0].json()
    assert body["model"] == "odsc-llm" and body["temperature"] == 0.1
    assert routes(local, deployment_kind.routing) == ["/v1/chat/completions"]
    assert_signed_and_routed(local, deployment_kind.routing)


async def test_stream(deployment_kind: DeploymentKind) -> None:
    result = Runner.run_streamed(_agent(deployment_kind), STREAM_PROMPT)
    parts = [
        event.data.delta
        async for event in result.stream_events()
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent)
    ]
    assert len(parts) > 1, parts
    assert "".join(parts) == f"You said: {STREAM_PROMPT}"
    assert streamed(deployment_kind.local)
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


def test_tool_round_trip(deployment_kind: DeploymentKind) -> None:
    agent = _agent(deployment_kind, tools=[function_tool(get_weather)])
    # A model answers after the tool's result: a second call of the tool is a loop.
    result = Runner.run_sync(agent, TOOL_PROMPT, max_turns=3)
    assert TOOL_RESULT in result.final_output
    assert_tool_round_trip(deployment_kind.local)
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


async def test_structured_answer_async(deployment_kind: DeploymentKind) -> None:
    agent = _agent(deployment_kind, output_type=City)
    result = await Runner.run(agent, "Name a big city and its population.")
    assert isinstance(result.final_output, City)
    body = deployment_kind.local.requests[0].json()
    assert body["response_format"]["type"] == "json_schema"
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


def test_bad_routing_is_a_typed_error(deployment_kind: DeploymentKind) -> None:
    with pytest.raises(InvalidRequestError, match="routing"):
        model(deployment_kind.local.url, auth=deployment_kind.local.auth, routing="query")  # type: ignore[arg-type]
