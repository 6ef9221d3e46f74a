"""LangChain's ChatOpenAI on a deployment (via odsc_llm.integrations.langchain)."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "langchain_openai",
    reason="langchain-openai is not installed (pip install 'odsc-llm[langchain]')",
)
pytest.importorskip("uvicorn", reason="the emulator needs the testing extra")

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI, OpenAIEmbeddings

from odsc_llm import InvalidRequestError
from odsc_llm.integrations.langchain import chat_model, embeddings
from odsc_llm.testing import LocalDeployment
from tests.support.deployments import DeploymentKind
from tests.support.routing import (
    assert_all_signed,
    sent,
)

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"


def _expect(routing: str, endpoint: str, suffix: str) -> tuple[str, str | None]:
    return (f"/{endpoint}", suffix) if routing == "header" else (f"/{endpoint}{suffix}", None)


def test_invoke(deployment_kind: DeploymentKind) -> None:
    local, routing = deployment_kind.local, deployment_kind.routing
    llm = chat_model(local.deployment, auth=local.auth, routing=routing, temperature=0.1)
    assert isinstance(llm, ChatOpenAI)
    answer = llm.invoke([SystemMessage("Be brief."), HumanMessage("hi there")])
    assert answer.content == "You said: hi there"
    assert sent(local) == [_expect(routing, "predict", CHAT)]
    request = local.requests[0]
    assert request.json()["model"] == "odsc-llm"
    assert request.json()["temperature"] == 0.1
    assert_all_signed(local)


def test_stream(deployment_kind: DeploymentKind) -> None:
    local, routing = deployment_kind.local, deployment_kind.routing
    llm = chat_model(local.deployment, auth=local.auth, routing=routing)
    text = "".join(str(chunk.content) for chunk in llm.stream("hi there"))
    assert text == "You said: hi there"
    assert sent(local) == [_expect(routing, "predictWithResponseStream", CHAT)]
    assert local.requests[0].headers["enable-streaming"] == "true"
    assert_all_signed(local)


async def test_async_invoke_and_stream(deployment_kind: DeploymentKind) -> None:
    local, routing = deployment_kind.local, deployment_kind.routing
    llm = chat_model(local.url, auth=local.auth, routing=routing)
    answer = await llm.ainvoke("hello")
    assert answer.content == "You said: hello"
    parts = [str(chunk.content) async for chunk in llm.astream("hello")]
    assert "".join(parts) == "You said: hello"
    assert sent(local) == [
        _expect(routing, "predict", CHAT),
        _expect(routing, "predictWithResponseStream", CHAT),
    ]
    assert_all_signed(local)


def test_the_default_routing_is_the_header(emulator: LocalDeployment) -> None:
    chat_model(emulator.deployment, auth=emulator.auth).invoke("hi")
    assert sent(emulator) == [("/predict", CHAT)]


def test_refuses_settings_it_owns(emulator: LocalDeployment) -> None:
    with pytest.raises(TypeError, match="api_key"):
        chat_model(emulator.deployment, auth=emulator.auth, api_key="sk-x")
    with pytest.raises(TypeError, match="http_client"):
        chat_model(emulator.deployment, auth=emulator.auth, http_client=object())
    with pytest.raises(InvalidRequestError, match="routing must be 'header'"):
        chat_model(emulator.deployment, auth=emulator.auth, routing="mie")  # type: ignore[arg-type]


def test_embeddings(deployment_kind: DeploymentKind) -> None:
    local, routing = deployment_kind.local, deployment_kind.routing
    model = embeddings(local.deployment, auth=local.auth, routing=routing)
    assert isinstance(model, OpenAIEmbeddings)
    assert model.check_embedding_ctx_length is False
    vectors = model.embed_documents(["first text", "second text"])
    query = model.embed_query("a question")
    assert len(vectors) == 2 and all(len(v) == len(query) > 0 for v in vectors)
    assert vectors[0] != vectors[1]
    assert sent(local) == [_expect(routing, "predict", EMBEDDINGS)] * 2
    body = local.requests[0].json()
    # The texts as they are, not tiktoken ids (the deployment's model has its own tokenizer).
    assert body["input"] == ["first text", "second text"]
    assert body["model"] == "odsc-llm"
    assert_all_signed(local)


async def test_async_embeddings(deployment_kind: DeploymentKind) -> None:
    local, routing = deployment_kind.local, deployment_kind.routing
    model = embeddings(local.url, auth=local.auth, routing=routing, chunk_size=1)
    vectors = await model.aembed_documents(["a", "b"])
    assert len(vectors) == 2
    assert sent(local) == [_expect(routing, "predict", EMBEDDINGS)] * 2  # chunk_size=1
    assert_all_signed(local)


def test_embeddings_refuses_settings_it_owns(emulator: LocalDeployment) -> None:
    with pytest.raises(InvalidRequestError, match="openai_api_base"):
        embeddings(emulator.deployment, auth=emulator.auth, openai_api_base="https://x")
    with pytest.raises(InvalidRequestError, match="embeddings builds OCI-signing clients"):
        embeddings(emulator.deployment, auth=emulator.auth, http_async_client=object())
    with pytest.raises(InvalidRequestError, match="routing must be 'header'"):
        embeddings(emulator.deployment, auth=emulator.auth, routing="")  # type: ignore[arg-type]
