"""DSPy on a deployment: the recipe through the LiteLLM provider.

DSPy's own OpenAI transport sends a Bearer key and takes no signed client; its LiteLLM
engine reaches any LiteLLM provider, so after odsc_llm.integrations.litellm.register(),
``dspy.LM("odsc/<deployment>")`` sends through odsc_llm, every request signed. Runs in the
openai-3 environment (tests/integrations/conftest.py), against each deployment kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dspy
import litellm
import pytest
from dspy.adapters.types.tool import ToolCallResults
from litellm.types.utils import ModelResponseStream

from odsc_llm.integrations import litellm as odsc_litellm

from ..support.deployments import DeploymentKind
from ..support.frameworks import (
    STREAM_PROMPT,
    TOOL_PROMPT,
    TOOL_RESULT,
    assert_signed_and_routed,
    assert_tool_round_trip,
    chat_bodies,
    get_weather,
    routes,
    streamed,
)

pytestmark = pytest.mark.openai3


@pytest.fixture
def lm(deployment_kind: DeploymentKind) -> Iterator[dspy.LM]:
    saved = list(litellm.custom_provider_map)
    odsc_litellm.register(deployment_kind.local.auth, routing=deployment_kind.routing)  # type: ignore[arg-type]
    yield dspy.LM(f"odsc/{deployment_kind.local.url}", cache=False, num_retries=1)
    litellm.custom_provider_map = saved


def test_chat(lm: dspy.LM, deployment_kind: DeploymentKind) -> None:
    assert lm("hi there") == ["You said: hi there"]
    body = deployment_kind.local.requests[0].json()
    assert body["model"] == "odsc-llm"
    assert "max_retries" not in body  # DSPy's num_retries set the client, not the body
    assert routes(deployment_kind.local, deployment_kind.routing) == ["/v1/chat/completions"]
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


async def test_async_chat(lm: dspy.LM, deployment_kind: DeploymentKind) -> None:
    assert await lm.acall("hello") == ["You said: hello"]
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


def test_predict_gets_a_structured_answer(lm: dspy.LM, deployment_kind: DeploymentKind) -> None:
    with dspy.context(lm=lm):
        prediction = dspy.Predict("question -> answer")(question="What is OCI?")
    assert isinstance(prediction.answer, str) and prediction.answer
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


class _Raw(dspy.Module):
    """A program whose one LM call DSPy streams: its text, no adapter's field format."""

    def forward(self, prompt: str) -> dspy.Prediction:
        return dspy.Prediction(text=dspy.settings.lm(prompt)[0])


async def test_stream(lm: dspy.LM, deployment_kind: DeploymentKind) -> None:
    # streamify without listeners yields the LM's raw stream chunks, then the Prediction.
    program = dspy.streamify(_Raw())
    chunks: list[ModelResponseStream] = []
    predictions: list[dspy.Prediction] = []
    with dspy.context(lm=lm):
        async for value in program(prompt=STREAM_PROMPT):
            if isinstance(value, ModelResponseStream):
                chunks.append(value)
            elif isinstance(value, dspy.Prediction):
                predictions.append(value)
    parts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(parts) > 1, parts
    assert "".join(parts) == f"You said: {STREAM_PROMPT}"
    assert [p.text for p in predictions] == [f"You said: {STREAM_PROMPT}"]
    assert len(deployment_kind.local.requests) == 1
    assert deployment_kind.local.requests[0].json()["stream"] is True
    assert streamed(deployment_kind.local)
    assert routes(deployment_kind.local, deployment_kind.routing) == ["/v1/chat/completions"]
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


class _Ask(dspy.Signature):
    """Answer the question, calling a tool when it helps."""

    question: str = dspy.InputField()
    tools: list[dspy.Tool] = dspy.InputField()
    history: dspy.History = dspy.InputField()
    answer: str | None = dspy.OutputField()
    tool_calls: dspy.ToolCalls = dspy.OutputField()


class _ToolCallingLM(dspy.LM):
    """The LM, declaring that the deployment's model calls tools (vLLM with a tool parser).

    DSPy asks LiteLLM's model catalog, which knows no ``odsc/<deployment>`` model: unknown
    is "no", and its adapters would drop the tools. BaseLM's capability hint says yes.
    """

    @property
    def supports_function_calling(self) -> bool:
        return True


@pytest.fixture
def tool_lm(lm: dspy.LM) -> dspy.LM:
    return _ToolCallingLM(lm.model, cache=False, num_retries=1)


def test_tool_round_trip(tool_lm: dspy.LM, deployment_kind: DeploymentKind) -> None:
    tool = dspy.Tool(get_weather)
    adapter = dspy.ChatAdapter(use_native_function_calling=True)
    with dspy.context(lm=tool_lm, adapter=adapter):
        first = dspy.Predict(_Ask)(
            question=TOOL_PROMPT, tools=[tool], history=dspy.History(messages=[])
        )
    calls = first.tool_calls.tool_calls
    assert [c.name for c in calls] == ["get_weather"], calls  # the model's native tool call
    values: list[Any] = [call.execute(functions=[tool]) for call in calls]  # DSPy runs our tool
    assert values == [TOOL_RESULT]
    results = ToolCallResults.from_tool_calls_and_values(first.tool_calls, values, [False])
    event = {
        "question": TOOL_PROMPT,
        "tool_calls": first.tool_calls.model_copy(update={"tool_call_results": results}),
    }
    # DSPy's adapter turns the turn into chat messages: the user's question, the assistant's
    # tool_calls, and a role "tool" message with the result. (A Predict call would append a
    # user message reminding the output format after them; the emulator answers tool results
    # only when they end the conversation, so the follow-up goes through the LM itself.)
    messages = adapter.format_conversation_history(
        _Ask.delete("history"), "history", {"history": dspy.History(messages=[event])}
    )
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"], messages
    final = tool_lm(messages=messages, tools=[tool.format_as_litellm_function_call()])
    assert final == [f"Tool results: get_weather: {TOOL_RESULT}"]  # the model used the result
    assert_tool_round_trip(deployment_kind.local)
    bodies = chat_bodies(deployment_kind.local)
    assert len(bodies) == 2
    sent = bodies[1]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == sent[2]["tool_call_id"] == calls[0].id
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)
