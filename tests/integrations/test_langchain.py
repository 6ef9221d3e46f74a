"""LangChain's ChatOpenAI on a deployment (via odsc_llm.integrations.langchain)."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "langchain_openai",
    reason="langchain-openai is not installed (pip install 'odsc-llm[langchain]')",
)
pytest.importorskip("uvicorn", reason="the emulator needs the testing extra")

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from odsc_llm.integrations.langchain import chat_model
from odsc_llm.testing import LocalDeployment


def _paths(local: LocalDeployment) -> list[str]:
    prefix = "/" + local.deployment.ocid
    return [r.path.removeprefix(prefix) for r in local.requests]


def test_invoke(emulator: LocalDeployment) -> None:
    llm = chat_model(emulator.deployment, auth=emulator.auth, temperature=0.1)
    assert isinstance(llm, ChatOpenAI)
    answer = llm.invoke([SystemMessage("Be brief."), HumanMessage("hi there")])
    assert answer.content == "You said: hi there"
    assert _paths(emulator) == ["/predict/v1/chat/completions"]
    request = emulator.requests[0]
    assert request.headers["authorization"].startswith("Signature ")
    assert request.json()["model"] == "odsc-llm"
    assert request.json()["temperature"] == 0.1


def test_stream(emulator: LocalDeployment) -> None:
    llm = chat_model(emulator.deployment, auth=emulator.auth)
    text = "".join(str(chunk.content) for chunk in llm.stream("hi there"))
    assert text == "You said: hi there"
    assert _paths(emulator) == ["/predictWithResponseStream/v1/chat/completions"]
    assert emulator.requests[0].headers["enable-streaming"] == "true"


async def test_async_invoke_and_stream(emulator: LocalDeployment) -> None:
    llm = chat_model(emulator.url, auth=emulator.auth)
    answer = await llm.ainvoke("hello")
    assert answer.content == "You said: hello"
    parts = [str(chunk.content) async for chunk in llm.astream("hello")]
    assert "".join(parts) == "You said: hello"
    assert all(r.status == 200 for r in emulator.requests)
    assert len(emulator.requests) == 2


def test_refuses_settings_it_owns(emulator: LocalDeployment) -> None:
    with pytest.raises(TypeError, match="api_key"):
        chat_model(emulator.deployment, auth=emulator.auth, api_key="sk-x")
    with pytest.raises(TypeError, match="http_client"):
        chat_model(emulator.deployment, auth=emulator.auth, http_client=object())
