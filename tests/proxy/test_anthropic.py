"""Anthropic Messages through the proxy, with anthropic-python (sync and async)."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from odsc_llm.testing import LocalDeployment

from ..support.proxy import KEY

MESSAGES = [{"role": "user", "content": "hello claude"}]


def _client(proxy_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=proxy_url, api_key=KEY, max_retries=0)


def test_messages_create(proxy_url: str, local: LocalDeployment) -> None:
    message = _client(proxy_url).messages.create(
        model="claude-sonnet-4", max_tokens=100, messages=MESSAGES
    )
    assert message.content[0].text == "You said: hello claude"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    (sent,) = local.requests
    assert sent.path == f"/{local.ocid}/predict" and sent.headers["route"] == "/v1/messages"
    assert sent.json()["model"] == "odsc-llm"
    assert KEY not in json.dumps(sent.headers)


def test_messages_stream(proxy_url: str, local: LocalDeployment) -> None:
    with _client(proxy_url).messages.stream(
        model="claude-sonnet-4", max_tokens=100, messages=MESSAGES
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "You said: hello claude"
    assert final.usage.output_tokens == 4
    assert local.requests[0].path == f"/{local.ocid}/predictWithResponseStream"


async def test_async_messages(proxy_url: str) -> None:
    client = anthropic.AsyncAnthropic(base_url=proxy_url, api_key=KEY, max_retries=0)
    message = await client.messages.create(model="c", max_tokens=100, messages=MESSAGES)
    assert message.content[0].text == "You said: hello claude"  # type: ignore[union-attr]
    async with client.messages.stream(model="c", max_tokens=100, messages=MESSAGES) as stream:
        parts = [text async for text in stream.text_stream]
    assert "".join(parts) == "You said: hello claude"
    await client.close()


def test_count_tokens(proxy_url: str) -> None:
    counted = _client(proxy_url).messages.count_tokens(model="c", messages=MESSAGES)
    assert counted.input_tokens == 2


def test_cut_stream_ends_with_an_anthropic_error_event(
    proxy_url: str, local: LocalDeployment
) -> None:
    local.faults.push(cut_before_done=True)
    body = {"model": "c", "max_tokens": 100, "messages": MESSAGES, "stream": True}
    answer = httpx.post(f"{proxy_url}/v1/messages", json=body, headers={"x-api-key": KEY})
    last = answer.text.rstrip("\n").split("\n\n")[-1]
    name, data = last.split("\n")
    assert name == "event: error"
    error = json.loads(data.removeprefix("data: "))
    assert error["type"] == "error" and "end marker" in error["error"]["message"]
    local.faults.push(cut_before_done=True)
    with (
        pytest.raises(anthropic.APIStatusError),
        _client(proxy_url).messages.stream(model="c", max_tokens=100, messages=MESSAGES) as s,
    ):
        list(s.text_stream)


def test_key_in_x_api_key_only(proxy_url: str) -> None:
    client = anthropic.Anthropic(base_url=proxy_url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model="c", max_tokens=10, messages=MESSAGES)
