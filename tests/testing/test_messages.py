"""The emulator's Anthropic Messages API (``/v1/messages``), shaped as vLLM serves it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from odsc_llm.testing import LocalDeployment

BODY = {"model": "odsc-llm", "max_tokens": 50, "messages": [{"role": "user", "content": "hi x"}]}


@pytest.fixture(scope="module")
def local() -> Iterator[LocalDeployment]:
    with LocalDeployment() as deployment:
        yield deployment


@pytest.fixture(autouse=True)
def _reset(local: LocalDeployment) -> Iterator[None]:
    yield
    local.reset()


def _post(
    local: LocalDeployment, body: dict[str, Any], route: str = "/v1/messages"
) -> httpx.Response:
    endpoint = "predictWithResponseStream" if body.get("stream") else "predict"
    return httpx.post(
        f"{local.url}/{endpoint}", json=body, headers={"route": route}, auth=local.auth
    )


def _events(text: str) -> list[tuple[str | None, str]]:
    out = []
    for block in filter(None, text.split("\n\n")):
        name = None
        data = ""
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        out.append((name, data))
    return out


def test_whole_answer(local: LocalDeployment) -> None:
    answer = _post(local, {**BODY, "system": "be brief"})
    assert answer.status_code == 200
    message = answer.json()
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["id"].startswith("msg_")
    assert message["content"] == [{"type": "text", "text": "You said: hi x"}]
    assert message["stop_reason"] == "end_turn" and message["stop_sequence"] is None
    assert message["usage"] == {"input_tokens": 4, "output_tokens": 4}  # system counts


def test_max_tokens_and_stop_sequences(local: LocalDeployment) -> None:
    cut = _post(local, {**BODY, "max_tokens": 2}).json()
    assert cut["content"][0]["text"] == "You said:" and cut["stop_reason"] == "max_tokens"
    stopped = _post(local, {**BODY, "stop_sequences": ["hi"]}).json()
    assert stopped["stop_reason"] == "end_turn" and stopped["stop_sequence"] == "hi"


def test_stream_events(local: LocalDeployment) -> None:
    answer = _post(local, {**BODY, "stream": True})
    events = _events(answer.text)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
        None,
    ]
    assert events[-1] == (None, "[DONE]")  # vLLM ends with [DONE] after message_stop
    deltas = [
        json.loads(data)["delta"]["text"] for name, data in events if name == "content_block_delta"
    ]
    assert "".join(deltas) == "You said: hi x"
    final = json.loads(events[-3][1])
    assert final["delta"]["stop_reason"] == "end_turn" and final["usage"]["output_tokens"] == 4


def test_count_tokens(local: LocalDeployment) -> None:
    body = {"model": "odsc-llm", "messages": [{"role": "user", "content": "a b c"}]}
    answer = _post(local, body, route="/v1/messages/count_tokens")
    assert answer.json() == {"input_tokens": 3}


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ({**BODY, "model": "nope"}, 404, "not_found_error"),
        ({"model": "odsc-llm", "messages": BODY["messages"]}, 400, "invalid_request_error"),
        ({**BODY, "messages": []}, 400, "invalid_request_error"),
    ],
)
def test_errors_in_anthropics_shape(
    local: LocalDeployment, body: dict[str, Any], status: int, kind: str
) -> None:
    answer = _post(local, body)
    assert answer.status_code == status
    assert answer.json()["type"] == "error" and answer.json()["error"]["type"] == kind


def test_status_faults_apply(local: LocalDeployment) -> None:
    local.faults.push(status=503)
    assert _post(local, BODY).status_code == 503


def test_cut_before_done_drops_message_stop(local: LocalDeployment) -> None:
    local.faults.push(cut_before_done=True)
    text = _post(local, {**BODY, "stream": True}).text
    assert "message_start" in text and "message_stop" not in text and "[DONE]" not in text


def test_error_event(local: LocalDeployment) -> None:
    local.faults.push(error_event=True, after_events=3)
    events = _events(_post(local, {**BODY, "stream": True}).text)
    assert len(events) == 4 and events[-1][0] == "error"
    assert json.loads(events[-1][1])["error"]["type"] == "api_error"


def test_reset_mid_stream(local: LocalDeployment) -> None:
    local.faults.push(reset_mid_stream=True, after_events=2)
    with pytest.raises(httpx.RemoteProtocolError):
        _post(local, {**BODY, "stream": True})
    deadline = time.monotonic() + 5  # the server notices the closed socket a moment later
    while local.active_streams and time.monotonic() < deadline:
        time.sleep(0.01)
    assert local.active_streams == 0
