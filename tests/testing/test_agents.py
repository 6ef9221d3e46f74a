"""The emulator answers agents the way a model behind vLLM does (issue 23, point 5): a
conversation that ends with tool results gets a text answer that uses them,
``json_object`` gets the fields the prompt names, and ``encoding_format: "base64"``
gets vLLM's little-endian float32 vectors. Streamed and not."""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytest.importorskip("uvicorn")

from odsc_llm.testing import embed
from tests.support.deployments import DeploymentKind

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
FINAL = {
    "type": "function",
    "function": {
        "name": "final_result",
        "parameters": {"type": "object", "properties": {"answer": {"type": "string"}}},
    },
}
ASK = {"role": "user", "content": "get_weather for Paris please"}


def _call(call_id: str, name: str, arguments: str = "{}") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _round_trip(*results: tuple[str, str, str]) -> list[dict[str, Any]]:
    """The conversation an agent sends back: the question, the calls, their results."""
    calls = [_call(call_id, name) for call_id, name, _ in results]
    return [
        ASK,
        {"role": "assistant", "content": None, "tool_calls": calls},
        *({"role": "tool", "tool_call_id": cid, "content": text} for cid, _, text in results),
    ]


@pytest.fixture
def http(deployment_kind: DeploymentKind) -> Iterator[httpx.Client]:
    with httpx.Client(auth=deployment_kind.local.auth, timeout=10) as client:
        yield client


def _chat(
    kind: DeploymentKind, http: httpx.Client, body: dict[str, Any], *, stream: bool = False
) -> dict[str, Any]:
    """The answer's message (merged from the chunks when streamed) and finish reason."""
    body = {**body, "stream": stream}
    request = kind.request("POST", "/v1/chat/completions", json=body, stream=stream)
    response = http.send(request)
    assert response.status_code == 200, response.text
    if not stream:
        choice = response.json()["choices"][0]
        return {**choice["message"], "finish_reason": choice["finish_reason"]}
    events = [e[len("data: ") :] for e in response.text.strip().split("\n\n")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e)["choices"] for e in events[:-1]]
    deltas = [c[0]["delta"] for c in chunks if c]
    content = "".join(d.get("content") or "" for d in deltas)
    calls = [call for d in deltas for call in d.get("tool_calls") or ()]
    finish = [c[0]["finish_reason"] for c in chunks if c and c[0]["finish_reason"]]
    assert len([d for d in deltas if d.get("content")]) > 1 or calls  # it really streamed
    return {"content": content, "tool_calls": calls or None, "finish_reason": finish[-1]}


# ---- tool results end the round trip -------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["full", "stream"])
def test_a_tool_round_trip_ends_in_text_that_uses_the_results(
    deployment_kind: DeploymentKind, http: httpx.Client, stream: bool
) -> None:
    first = _chat(deployment_kind, http, {"messages": [ASK], "tools": [WEATHER]}, stream=stream)
    assert first["finish_reason"] == "tool_calls"
    call = first["tool_calls"][0]
    body = {
        "messages": [
            ASK,
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": "21 C,\n sunny"},
        ],
        "tools": [WEATHER],
    }
    second = _chat(deployment_kind, http, body, stream=stream)
    assert second["content"] == "Tool results: get_weather: 21 C, sunny"
    assert not second.get("tool_calls")
    assert second["finish_reason"] == "stop"


@pytest.mark.parametrize("stream", [False, True], ids=["full", "stream"])
def test_every_trailing_result_is_quoted_in_order(
    deployment_kind: DeploymentKind, http: httpx.Client, stream: bool
) -> None:
    messages = _round_trip(("c1", "get_weather", "rain"), ("c2", "get_time", "noon"))
    messages.append(
        {"role": "function", "name": "legacy", "content": [{"type": "text", "text": "ok"}]}
    )
    answer = _chat(deployment_kind, http, {"messages": messages, "tools": [WEATHER]}, stream=stream)
    assert answer["content"] == "Tool results: get_weather: rain; get_time: noon; legacy: ok"


def test_a_result_before_a_new_question_is_an_ordinary_turn(
    deployment_kind: DeploymentKind, http: httpx.Client
) -> None:
    messages = [*_round_trip(("c1", "get_weather", "rain")), {"role": "user", "content": "thanks"}]
    answer = _chat(deployment_kind, http, {"messages": messages})
    assert answer["content"] == "You said: thanks"


@pytest.mark.parametrize("stream", [False, True], ids=["full", "stream"])
def test_a_forced_choice_still_calls_after_results(
    deployment_kind: DeploymentKind, http: httpx.Client, stream: bool
) -> None:
    messages = _round_trip(("c1", "get_weather", "rain"))
    tools = [WEATHER, FINAL]
    # "required": the first tool not called yet (an agent's output tool comes next).
    required = {"messages": messages, "tools": tools, "tool_choice": "required"}
    answer = _chat(deployment_kind, http, required, stream=stream)
    assert answer["finish_reason"] == "tool_calls"
    assert answer["tool_calls"][0]["function"]["name"] == "final_result"
    # Every tool called already: the first again (required means a call).
    everything = _round_trip(("c1", "get_weather", "rain"), ("c2", "final_result", "{}"))
    again = _chat(deployment_kind, http, {**required, "messages": everything}, stream=stream)
    assert again["tool_calls"][0]["function"]["name"] == "get_weather"
    named = {"type": "function", "function": {"name": "get_weather"}}
    forced = _chat(
        deployment_kind, http, {"messages": messages, "tools": tools, "tool_choice": named}
    )
    assert forced["tool_calls"][0]["function"]["name"] == "get_weather"


# ---- json_object: the fields the prompt names -------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["full", "stream"])
@pytest.mark.parametrize(
    ("prompt", "fields"),
    [
        (
            "Reply in JSON with the keys city, country and population.",
            ["city", "country", "population"],
        ),
        ('Give me a JSON object with "name" and `age`, nothing else', ["name", "age"]),
        ("JSON with the field summary", ["summary"]),
        ("Say hello as JSON", ["answer"]),
        ("A JSON object of keys and values", ["answer"]),
    ],
)
def test_json_object_has_the_fields_the_prompt_names(
    deployment_kind: DeploymentKind,
    http: httpx.Client,
    prompt: str,
    fields: list[str],
    stream: bool,
) -> None:
    body = {
        "messages": [{"role": "user", "content": prompt}],
        "response_format": {"type": "json_object"},
    }
    answer = json.loads(_chat(deployment_kind, http, body, stream=stream)["content"])
    reply = "You said: " + " ".join(prompt.split())
    assert answer == dict.fromkeys(fields, reply)


def test_json_object_of_a_json_prompt_is_the_prompt(
    deployment_kind: DeploymentKind, http: httpx.Client
) -> None:
    prompt = '{"a": [1, 2]}'
    body = {
        "messages": [{"role": "user", "content": prompt}],
        "response_format": {"type": "json_object"},
    }
    assert _chat(deployment_kind, http, body)["content"] == prompt


def test_json_object_after_tool_results_carries_them(
    deployment_kind: DeploymentKind, http: httpx.Client
) -> None:
    body = {
        "messages": _round_trip(("c1", "get_weather", "rain")),
        "response_format": {"type": "json_object"},
    }
    # The question names no field: one "answer", with the results.
    answer = json.loads(_chat(deployment_kind, http, body)["content"])
    assert answer == {"answer": "Tool results: get_weather: rain"}


# ---- base64 embeddings ---------------------------------------------------------------------


def _embeddings(kind: DeploymentKind, http: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return http.send(kind.request("POST", "/v1/embeddings", json=body))


def test_base64_embeddings_are_little_endian_float32(
    deployment_kind: DeploymentKind, http: httpx.Client
) -> None:
    body = {"input": ["a b", "c"], "encoding_format": "base64"}
    data = _embeddings(deployment_kind, http, body).json()["data"]
    for item, text in zip(data, ["a b", "c"], strict=True):
        raw = base64.b64decode(item["embedding"])
        assert len(raw) == 4 * 32
        values = struct.unpack("<32f", raw)
        assert all(
            math.isclose(v, e, rel_tol=1e-6, abs_tol=1e-7)
            for v, e in zip(values, embed(text), strict=True)
        )
    floats = _embeddings(deployment_kind, http, {"input": "c", "encoding_format": "float"})
    assert floats.json()["data"][0]["embedding"] == embed("c")


@pytest.mark.parametrize("fmt", ["binary", "BASE64", 1])
def test_an_unknown_encoding_format_is_vllms_400(
    deployment_kind: DeploymentKind, http: httpx.Client, fmt: object
) -> None:
    response = _embeddings(deployment_kind, http, {"input": "c", "encoding_format": fmt})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "encoding_format" and "base64" in error["message"]


def test_the_openai_sdk_decodes_the_emulators_base64(deployment_kind: DeploymentKind) -> None:
    pytest.importorskip("openai")
    from odsc_llm.integrations.openai import openai_client

    local = deployment_kind.local
    client = openai_client(**deployment_kind.client_kwargs)  # the routing that fits
    # The SDK asks for base64 when no format is given, and decodes it.
    vector = client.embeddings.create(model="odsc-llm", input="hello").data[0].embedding
    sent = json.loads(local.requests[-1].body)
    chosen = client.embeddings.create(model="odsc-llm", input="hello", encoding_format="base64")
    assert sent["encoding_format"] == "base64"
    expected = embed("hello")
    assert all(
        math.isclose(v, e, rel_tol=1e-6, abs_tol=1e-7)
        for v, e in zip(vector, expected, strict=True)
    )
    assert isinstance(chosen.data[0].embedding, str)
    assert [r.status for r in local.requests] == [200, 200]
