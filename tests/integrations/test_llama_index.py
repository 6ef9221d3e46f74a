"""LlamaIndex's OpenAILike and OpenAILikeEmbedding through odsc_llm.integrations.llama_index.

Runs in the openai<2 environment (tests/integrations/conftest.py; LlamaIndex's OpenAI
packages need openai<3), against the emulator of each deployment kind.
"""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.tools import FunctionTool
from llama_index.llms.openai_like import OpenAILike

from odsc_llm import InvalidRequestError
from odsc_llm.integrations.llama_index import embedding, llm

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

pytestmark = pytest.mark.openai_lt2


def _llm(kind: DeploymentKind, **settings: object) -> OpenAILike:
    return llm(kind.local.url, auth=kind.local.auth, routing=kind.routing, **settings)  # type: ignore[arg-type]


def test_chat_and_complete(deployment_kind: DeploymentKind) -> None:
    local = deployment_kind.local
    model = _llm(deployment_kind, temperature=0.1)
    assert model.metadata.is_chat_model and model.metadata.is_function_calling_model
    answer = model.chat([ChatMessage(role=MessageRole.USER, content="hi there")])
    assert answer.message.content == "You said: hi there"
    assert model.complete("hello").text == "You said: hello"
    body = local.requests[0].json()
    assert body["model"] == "odsc-llm" and body["temperature"] == 0.1
    assert routes(local, deployment_kind.routing) == ["/v1/chat/completions"] * 2
    assert_signed_and_routed(local, deployment_kind.routing)


def test_stream(deployment_kind: DeploymentKind) -> None:
    model = _llm(deployment_kind)
    parts = [r.delta or "" for r in model.stream_complete(STREAM_PROMPT)]
    assert len([p for p in parts if p]) > 1, parts
    assert "".join(parts) == f"You said: {STREAM_PROMPT}"
    assert streamed(deployment_kind.local)
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


def test_tool_round_trip(deployment_kind: DeploymentKind) -> None:
    model = _llm(deployment_kind)
    tool = FunctionTool.from_defaults(fn=get_weather)
    messages = [ChatMessage(role=MessageRole.USER, content=TOOL_PROMPT)]
    first = model.chat_with_tools([tool], chat_history=messages)
    calls = model.get_tool_calls_from_response(first, error_on_no_tool_call=True)
    assert calls[0].tool_name == "get_weather"
    result = tool(**calls[0].tool_kwargs)
    messages += [
        first.message,
        ChatMessage(
            role=MessageRole.TOOL,
            content=str(result),
            additional_kwargs={"tool_call_id": calls[0].tool_id, "name": "get_weather"},
        ),
    ]
    final = model.chat_with_tools([tool], chat_history=messages)
    assert TOOL_RESULT in (final.message.content or "")
    assert_tool_round_trip(deployment_kind.local)
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


async def test_structured_answer_and_async(deployment_kind: DeploymentKind) -> None:
    from llama_index.core.prompts import PromptTemplate

    model = _llm(deployment_kind)
    city = await model.astructured_predict(
        City, PromptTemplate("Name a big city in {country}."), country="France"
    )
    assert isinstance(city, City)
    answer = await model.achat([ChatMessage(role=MessageRole.USER, content="hello")])
    assert answer.message.content == "You said: hello"
    parts = [r.delta or "" async for r in await model.astream_complete(STREAM_PROMPT)]
    assert "".join(parts) == f"You said: {STREAM_PROMPT}"
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


async def test_embedding(deployment_kind: DeploymentKind) -> None:
    model = embedding(
        deployment_kind.local.url, auth=deployment_kind.local.auth, routing=deployment_kind.routing
    )  # type: ignore[arg-type]
    vectors = model.get_text_embedding_batch(["a cat", "a dog"])
    assert len(vectors) == 2 and len(vectors[0]) > 0
    again = await model.aget_text_embedding("a cat")
    assert again == pytest.approx(vectors[0])
    assert routes(deployment_kind.local, deployment_kind.routing) == ["/v1/embeddings"] * 2
    assert deployment_kind.local.requests[0].json()["model"] == "odsc-llm"
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


@pytest.mark.parametrize("name", ["api_base", "api_key", "http_client", "async_http_client"])
def test_refuses_settings_it_owns(deployment_kind: DeploymentKind, name: str) -> None:
    with pytest.raises(InvalidRequestError, match=name):
        llm(deployment_kind.local.url, auth=deployment_kind.local.auth, **{name: "x"})
    with pytest.raises(InvalidRequestError, match=name):
        embedding(deployment_kind.local.url, auth=deployment_kind.local.auth, **{name: "x"})
