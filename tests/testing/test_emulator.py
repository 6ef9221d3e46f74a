"""The local emulator over real sockets, driven by plain httpx (the SDK's clients: test_e2e)."""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("uvicorn")

from odsc_llm.testing import (
    MAX_BODY_BYTES,
    LocalDeployment,
    embed,
    reply_text,
    tokenize,
)

from ..support.raw_server import read_until


@pytest.fixture
def local(odsc_llm_local: LocalDeployment) -> LocalDeployment:
    return odsc_llm_local


@pytest.fixture
def http(local: LocalDeployment) -> Iterator[httpx.Client]:
    with httpx.Client(auth=local.auth, timeout=10) as client:
        yield client


def _events(text: str) -> list[str]:
    """The data of each SSE event, checking the framing vLLM uses."""
    assert text.endswith("\n\n")
    blocks = text[:-2].split("\n\n")
    assert all(b.startswith("data: ") for b in blocks), blocks
    return [b[len("data: ") :] for b in blocks]


def _chunks(text: str) -> list[dict[str, Any]]:
    data = _events(text)
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


# ---- the answer rule ---------------------------------------------------------------------


def test_answer_rule_helpers() -> None:
    assert reply_text("  what  are\nactivation functions? ") == (
        "You said: what are activation functions?"
    )
    assert tokenize("You said: hi there") == ["You", " said:", " hi", " there"]
    vector = embed("hello")
    assert len(vector) == 32
    assert math.isclose(sum(v * v for v in vector), 1.0)
    assert embed("hello") == vector
    assert embed("hello!") != vector
    assert len(embed("x", dim=8)) == 8


def test_completion_is_shaped_like_vllm(local: LocalDeployment, http: httpx.Client) -> None:
    r = http.post(local.deployment.predict_url, json={"prompt": "hi there", "model": "odsc-llm"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"id", "object", "created", "model", "choices", "usage"}
    assert body["id"].startswith("cmpl-")
    assert body["object"] == "text_completion"
    assert body["model"] == "odsc-llm"
    assert body["choices"] == [
        {
            "index": 0,
            "text": "You said: hi there",
            "logprobs": None,
            "finish_reason": "stop",
            "stop_reason": None,
            "prompt_logprobs": None,
        }
    ]
    assert body["usage"] == {
        "prompt_tokens": 2,
        "completion_tokens": 4,
        "total_tokens": 6,
        "prompt_tokens_details": None,
    }


def test_max_tokens_defaults_to_16_like_vllm(local: LocalDeployment, http: httpx.Client) -> None:
    prompt = " ".join(f"w{i}" for i in range(30))
    choice = http.post(local.deployment.predict_url, json={"prompt": prompt}).json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["text"] == "".join(tokenize(reply_text(prompt))[:16])
    r = http.post(local.deployment.predict_url, json={"prompt": prompt, "max_tokens": 3})
    assert r.json()["choices"][0]["text"] == "You said: w0"


def test_stop_sequences_n_and_seed(local: LocalDeployment, http: httpx.Client) -> None:
    body = {"prompt": "alpha beta gamma", "stop": ["gam", " beta"], "n": 2, "seed": 7}
    choices = http.post(local.deployment.predict_url, json=body).json()["choices"]
    assert [c["index"] for c in choices] == [0, 1]
    for c in choices:
        assert c["text"] == "You said: alpha"
        assert c["finish_reason"] == "stop"
        assert c["stop_reason"] == " beta"


def test_batch_of_prompts(local: LocalDeployment, http: httpx.Client) -> None:
    body = {"prompt": ["one", "two"], "n": 2}
    texts = [
        c["text"] for c in http.post(local.deployment.predict_url, json=body).json()["choices"]
    ]
    assert texts == ["You said: one", "You said: one", "You said: two", "You said: two"]


def test_chat_answers_the_last_user_message(local: LocalDeployment, http: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "part"}],
        },
    ]
    body = http.post(local.deployment.predict_url, json={"messages": messages}).json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    # vLLM 0.32's shape: the thinking field is "reasoning" (null here), empty tool_calls
    # are left out.
    assert choice["message"] == {
        "role": "assistant",
        "reasoning": None,
        "content": "You said: second part",
    }
    assert choice["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == 4


def test_embeddings_are_deterministic(local: LocalDeployment, http: httpx.Client) -> None:
    body = http.post(local.deployment.predict_url, json={"input": ["a", "b c"]}).json()
    assert body["object"] == "list"
    assert [d["embedding"] for d in body["data"]] == [embed("a"), embed("b c")]
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert body["usage"]["prompt_tokens"] == 3


def test_route_header_and_body_shape_choose_the_api(
    local: LocalDeployment, http: httpx.Client
) -> None:
    # The route header wins over the body's shape.
    r = http.post(
        local.deployment.predict_url,
        json={"prompt": "p", "messages": [{"role": "user", "content": "m"}]},
        headers={"route": "/v1/completions"},
    )
    assert r.json()["choices"][0]["text"] == "You said: p"
    # The body's shape chooses when there is no header (the path form: test_routing).
    r = http.post(
        local.deployment.predict_url, json={"messages": [{"role": "user", "content": "m"}]}
    )
    assert r.json()["choices"][0]["message"]["content"] == "You said: m"
    r = http.post(local.deployment.predict_url, json={"input": "e"})
    assert r.json()["data"][0]["embedding"] == embed("e")
    r = http.post(local.deployment.predict_url, json={"prompt": "p"}, headers={"route": "/v1/nope"})
    assert r.status_code == 404


# ---- streaming ---------------------------------------------------------------------------


def test_stream_is_sse_like_vllm(local: LocalDeployment, http: httpx.Client) -> None:
    body = {"prompt": "a b c", "stream": True, "max_tokens": 4}
    with http.stream("POST", local.deployment.stream_url, json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    chunks = _chunks(text)
    assert [c["choices"][0]["text"] for c in chunks] == ["You", " said:", " a", " b"]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, None, None, "length"]
    assert {c["id"] for c in chunks} == {chunks[0]["id"]}
    # vLLM 0.32 leaves "usage" out of completion chunks (no "usage": null).
    assert all(c["object"] == "text_completion" and "usage" not in c for c in chunks)


def test_chat_stream_with_usage(local: LocalDeployment, http: httpx.Client) -> None:
    body = {
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    chunks = _chunks(http.post(local.deployment.stream_url, json=body).text)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:-1]] == [
        "You",
        " said:",
        " hi",
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 3


def test_stream_on_predict_with_enable_streaming(
    local: LocalDeployment, http: httpx.Client
) -> None:
    body = {"prompt": "x", "stream": True}
    streamed = http.post(
        local.deployment.predict_url, json=body, headers={"enable-streaming": "true"}
    )
    assert "content-length" not in streamed.headers  # sent incrementally (chunked)
    buffered = http.post(local.deployment.predict_url, json=body)
    assert "content-length" in buffered.headers  # collected by the service, sent at once
    for r in (streamed, buffered):
        assert "".join(c["choices"][0]["text"] for c in _chunks(r.text)) == "You said: x"


def test_token_delay_spaces_the_tokens(local: LocalDeployment, http: httpx.Client) -> None:
    local.token_delay = 0.05
    arrivals = []
    with http.stream(
        "POST", local.deployment.stream_url, json={"prompt": "a b", "stream": True}
    ) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                arrivals.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    # 4 tokens and [DONE]: a delay before each token but the first.
    assert len(arrivals) == 5
    # Arrivals are stamped by this (busy, GIL-sharing) thread: a late stamp on the first
    # event shortens the measured span by a few ms, so allow 10% of it.
    assert sum(gaps) >= 3 * 0.05 * 0.9


def test_server_stops_a_stream_the_client_closed(
    local: LocalDeployment, http: httpx.Client
) -> None:
    local.token_delay = 0.1  # 200 tokens: 20 s, longer than the deadline below
    body = {"prompt": " ".join(["word"] * 200), "max_tokens": 200, "stream": True}
    with http.stream("POST", local.deployment.stream_url, json=body) as r:
        next(r.iter_raw())
        assert local.active_streams == 1
    deadline = time.monotonic() + 10
    while local.active_streams and time.monotonic() < deadline:
        time.sleep(0.01)
    assert local.active_streams == 0


def test_non_streaming_request_on_stream_endpoint_is_409(
    local: LocalDeployment, http: httpx.Client
) -> None:
    r = http.post(local.deployment.stream_url, json={"prompt": "x"})
    assert r.status_code == 409
    assert r.json()["code"] == "ExternalServerIncorrectState"


# ---- errors ------------------------------------------------------------------------------


def test_unknown_model_is_a_vllm_404(local: LocalDeployment, http: httpx.Client) -> None:
    r = http.post(local.deployment.predict_url, json={"prompt": "x", "model": "gpt-4"})
    assert r.status_code == 404
    assert r.json() == {
        "error": {
            "message": "The model `gpt-4` does not exist. Valid aliases: odsc-llm.",
            "type": "NotFoundError",
            "param": "model",
            "code": 404,
        }
    }


def test_bad_requests_are_vllm_400s(local: LocalDeployment, http: httpx.Client) -> None:
    for body in ({"prompt": "x", "max_tokens": 0}, {"messages": []}, {"nothing": 1}):
        r = http.post(
            local.deployment.predict_url,
            json=body,
            headers={"route": "/v1/chat/completions"} if "messages" in body else None,
        )
        assert r.status_code == 400, body
        assert r.json()["error"]["code"] == 400
    r = http.post(local.deployment.predict_url, content=b"not json")
    assert r.status_code == 400


def test_request_id_is_echoed_or_generated(local: LocalDeployment, http: httpx.Client) -> None:
    r = http.post(
        local.deployment.predict_url, json={"prompt": "x"}, headers={"opc-request-id": "abc/123"}
    )
    assert r.headers["opc-request-id"] == "abc/123"
    generated = http.post(local.deployment.predict_url, json={"prompt": "x"}).headers[
        "opc-request-id"
    ]
    other = http.post(local.deployment.stream_url, json={"prompt": "x"}).headers["opc-request-id"]
    assert generated and other and generated != other


def test_unsigned_and_badly_signed_requests_get_401(local: LocalDeployment) -> None:
    r = httpx.post(local.deployment.predict_url, json={"prompt": "x"})
    assert r.status_code == 401
    assert r.json() == {
        "code": "NotAuthenticated",
        "message": "The request has no Authorization header: it was not signed.",
    }
    assert r.headers["opc-request-id"]

    class Tampering(httpx.Auth):
        def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
            signed = next(local.auth.sync_auth_flow(request))
            signed.headers["date"] = "Mon, 01 Jan 2024 00:00:00 GMT"
            yield signed

    r = httpx.post(local.deployment.predict_url, json={"prompt": "x"}, auth=Tampering())
    assert r.status_code == 401
    assert "date" in r.json()["message"]


def test_security_token_signature_is_accepted(local: LocalDeployment) -> None:
    r = httpx.post(
        local.deployment.predict_url, json={"prompt": "x"}, auth=local.security_token_auth
    )
    assert r.status_code == 200
    assert local.requests[-1].headers["authorization"].count('keyId="ST$') == 1


def test_unknown_deployment_and_paths_are_404(local: LocalDeployment, http: httpx.Client) -> None:
    other = local.url.replace(local.ocid, local.ocid[:-4] + "zzzz") + "/predict"
    r = http.post(other, json={"prompt": "x"})
    assert r.status_code == 404
    assert r.json()["code"] == "NotAuthorizedOrNotFound"
    assert http.post(local.base_url + "/elsewhere", json={}).status_code == 404


def test_body_over_10_mb_is_413(local: LocalDeployment) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    r = httpx.post(local.deployment.predict_url, content=body, timeout=30)
    assert r.status_code == 413
    assert r.json()["code"] == "PayloadTooLarge"


def test_bodyless_request_without_content_length_is_411(local: LocalDeployment) -> None:
    # httpx sends no content-length on a GET: the service answers 411 LengthRequired.
    r = httpx.get(local.deployment.predict_url + "/v1/models", auth=local.auth)
    assert r.status_code == 411
    assert r.json()["code"] == "LengthRequired"
    assert "content-length" in r.json()["message"]
    # With content-length: 0 the request gets past it (a GET is then a 405 today).
    r = httpx.get(local.deployment.predict_url, auth=local.auth, headers={"content-length": "0"})
    assert r.status_code == 405


def test_odsc_llm_and_oci_signers_send_a_content_length_on_post(local: LocalDeployment) -> None:
    with local.client(max_retries=0) as client:
        client.completions.create(prompt="x")
    assert local.requests[-1].headers["content-length"] == str(len(local.requests[-1].body))


def test_request_signed_for_another_host_is_401(local: LocalDeployment) -> None:
    elsewhere = "modeldeployment.us-ashburn-1.oci.customer-oci.com"
    for host in (elsewhere, f"127.0.0.1:{local.port + 1}", f"10.0.0.1:{local.port}"):
        request = httpx.Request(
            "POST", local.deployment.predict_url, json={"prompt": "x"}, headers={"host": host}
        )
        signed = next(local.auth.sync_auth_flow(request))
        assert signed.headers["host"] == host
        with httpx.Client() as http:
            r = http.send(signed)
        assert r.status_code == 401, host
        message = r.json()["message"]
        assert f"signed for host {host!r}" in message
        assert f"127.0.0.1:{local.port}" in message


def test_localhost_is_this_host(local: LocalDeployment) -> None:
    url = local.deployment.predict_url.replace("127.0.0.1", "localhost")
    r = httpx.post(url, json={"prompt": "x"}, auth=local.auth)
    assert r.status_code == 200


def test_unsigned_request_to_an_unknown_path_is_401(local: LocalDeployment) -> None:
    # Authentication comes before routing: an unknown path tells nothing to the unsigned.
    r = httpx.post(local.base_url + "/elsewhere", json={})
    assert r.status_code == 401


def _raw_request(parts: dict[str, bytes], headers: list[tuple[bytes, bytes]]) -> bytes:
    target = parts["path"] + b"?" + parts["query"]
    lines = [parts["method"] + b" " + target + b" HTTP/1.1"]
    for name, value in headers:
        lines.append(name + b": " + parts.get(f"header:{name.decode()}", value))
    lines.append(b"authorization: Signature " + parts["authorization"])
    lines.append(b"connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + parts["body"]


def _status_of(port: int, raw: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        received = read_until(sock, b"\r\n")
    return int(received.split(b" ", 2)[1])


_TOKEN = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_VCHAR = bytes(range(0x21, 0x7F))


@pytest.fixture
def signed_wire(local: LocalDeployment) -> tuple[dict[str, bytes], list[tuple[bytes, bytes]]]:
    """A signed POST with a query, split into what one byte of may change on the wire."""
    request = httpx.Request(
        "POST", local.deployment.predict_url + "?api-version=2", json={"prompt": "wire"}
    )
    signed = next(local.auth.sync_auth_flow(request))
    path, _, query = signed.url.raw_path.partition(b"?")
    parts = {"method": b"POST", "path": path, "query": query, "body": signed.content}
    authorization = signed.headers["authorization"].encode()
    parts["authorization"] = authorization[len(b"Signature ") :]
    headers = [
        (name.lower(), value)
        for name, value in signed.headers.raw
        if name.lower() not in (b"authorization", b"connection")
    ]
    signed_names = [
        name
        for name in signed.headers["authorization"].split('headers="')[1].split('"')[0].split()
        if name not in ("(request-target)", "content-length")  # content-length frames the body
    ]
    for name in signed_names:
        parts[f"header:{name}"] = signed.headers[name].encode()
    return parts, headers


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_one_byte_change_on_the_wire_is_401(
    local: LocalDeployment,
    signed_wire: tuple[dict[str, bytes], list[tuple[bytes, bytes]]],
    data: Any,
) -> None:
    parts, headers = signed_wire
    assert _status_of(local.port, _raw_request(parts, headers)) == 200  # it verifies as sent
    part = data.draw(st.sampled_from(sorted(parts)), label="part")
    value = parts[part]
    index = data.draw(st.integers(0, len(value) - 1), label="index")
    alphabet = _TOKEN if part == "method" else b"" if part == "body" else _VCHAR
    choices = st.sampled_from(list(alphabet)) if alphabet else st.integers(0, 255)
    byte = data.draw(choices.filter(lambda b: b != value[index]), label="byte")
    changed = {**parts, part: value[:index] + bytes([byte]) + value[index + 1 :]}
    assert _status_of(local.port, _raw_request(changed, headers)) == 401


def test_rate_limit_faults_say_which_limit(local: LocalDeployment, http: httpx.Client) -> None:
    local.faults.push(status=429, limit="bandwidth")
    local.faults.push(status=429, limit="tenancy_rate")
    r = http.post(local.deployment.predict_url, json={"prompt": "x"})
    assert r.status_code == 429
    assert "bandwidth" in r.json()["message"]
    assert "request-rate limit" not in r.json()["message"]
    assert r.json()["code"] != "TooManyRequests"
    assert "retry-after" not in r.headers
    r = http.post(local.deployment.predict_url, json={"prompt": "x"})
    assert r.status_code == 429
    assert r.json()["code"] == "TooManyRequests"
    assert "request-rate limit" in r.json()["message"]
    assert "bandwidth" not in r.json()["message"]
    assert "retry-after" not in r.headers
    assert http.post(local.deployment.predict_url, json={"prompt": "x"}).status_code == 200
    with pytest.raises(ValueError, match="limit"):
        local.faults.push(status=503, limit="bandwidth")
    with pytest.raises(ValueError, match="limit"):
        local.faults.push(status=429, limit="bandwith")


# ---- faults and the request log ------------------------------------------------------------


def test_status_faults_with_retry_after(local: LocalDeployment, http: httpx.Client) -> None:
    local.faults.push(status=429, retry_after=1, count=2)
    local.faults.push(status=503)
    assert len(local.faults) == 3
    statuses = []
    for _ in range(4):
        r = http.post(local.deployment.predict_url, json={"prompt": "x"})
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert r.headers["retry-after"] == "1"
            assert r.json()["code"] == "TooManyRequests"
    assert statuses == [429, 429, 503, 200]
    assert [q.status for q in local.requests] == statuses
    assert local.requests[0].fault is not None and local.requests[-1].fault is None


def test_html_error_fault(local: LocalDeployment, http: httpx.Client) -> None:
    local.faults.push(html_error=502)
    r = http.post(local.deployment.predict_url, json={"prompt": "x"})
    assert r.status_code == 502
    assert r.headers["content-type"] == "text/html"
    assert "<title>502 Bad Gateway</title>" in r.text


def test_401_fault_is_oci_json(local: LocalDeployment, http: httpx.Client) -> None:
    local.faults.push(status=401)
    r = http.post(local.deployment.predict_url, json={"prompt": "x"})
    assert (r.status_code, r.json()["code"]) == (401, "NotAuthenticated")


def test_delay_fault(local: LocalDeployment, http: httpx.Client) -> None:
    local.faults.push(delay=0.2)
    start = time.monotonic()
    r = http.post(local.deployment.predict_url, json={"prompt": "x"})
    assert r.status_code == 200
    assert time.monotonic() - start >= 0.2


def test_drop_connection_sends_nothing(local: LocalDeployment, http: httpx.Client) -> None:
    local.faults.push(drop_connection=True)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
        http.post(local.deployment.predict_url, json={"prompt": "x"})
    assert http.post(local.deployment.predict_url, json={"prompt": "x"}).status_code == 200


def test_reset_mid_stream(local: LocalDeployment, http: httpx.Client) -> None:
    local.faults.push(reset_mid_stream=True, after_events=2)
    received = []
    body = {"prompt": "a b c", "stream": True}
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", local.deployment.stream_url, json=body) as r,
    ):
        assert r.status_code == 200
        for line in r.iter_lines():
            received.append(line)
    assert len([line for line in received if line.startswith("data: ")]) == 2


def test_reset_mid_answer_of_a_plain_predict(local: LocalDeployment, http: httpx.Client) -> None:
    local.faults.push(reset_mid_stream=True)
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(local.deployment.predict_url, json={"prompt": "x"})


def test_cut_before_done(local: LocalDeployment, http: httpx.Client) -> None:
    local.faults.push(cut_before_done=True)
    r = http.post(local.deployment.stream_url, json={"prompt": "a b c d", "stream": True})
    data = _events(r.text)
    assert "[DONE]" not in data
    assert 0 < len(data) < 6
    assert all(json.loads(d)["choices"][0]["finish_reason"] is None for d in data)


def test_non_json_chunk(local: LocalDeployment, http: httpx.Client) -> None:
    local.faults.push(non_json_chunk=True)
    data = _events(
        http.post(local.deployment.stream_url, json={"prompt": "a", "stream": True}).text
    )
    assert data[-1] == "[DONE]"
    bad = [d for d in data if not d.startswith(('{"id"', "[DONE]"))]
    assert len(bad) == 1
    with pytest.raises(ValueError):
        json.loads(bad[0])


def test_error_event_then_done(local: LocalDeployment, http: httpx.Client) -> None:
    local.faults.push(error_event=True)
    data = _events(
        http.post(local.deployment.stream_url, json={"prompt": "a b", "stream": True}).text
    )
    assert data[-1] == "[DONE]"
    error = json.loads(data[-2])
    assert error["error"]["code"] == 500 and error["error"]["message"]
    assert len(data) == 3  # one token, the error, [DONE]


def test_push_rejects_unclear_faults(local: LocalDeployment) -> None:
    with pytest.raises(ValueError, match="one kind"):
        local.faults.push(status=500, html_error=502)
    with pytest.raises(ValueError, match="needs a fault"):
        local.faults.push()
    with pytest.raises(ValueError, match="400-599"):
        local.faults.push(status=200)
    with pytest.raises(ValueError, match="count"):
        local.faults.push(status=500, count=0)
    assert len(local.faults) == 0


class _SlowDeque(collections.deque):  # type: ignore[type-arg]
    """A deque whose emptiness check takes a while: it widens pop's check-then-take gap."""

    def __len__(self) -> int:
        size = super().__len__()
        time.sleep(0.0003)
        return size


def test_faults_are_thread_safe(local: LocalDeployment) -> None:
    def pusher(worker: int) -> None:
        for i in range(200):
            local.faults.push(status=500, code=f"w{worker}-{i}")

    threads = [threading.Thread(target=pusher, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(local.faults) == 800
    # Many takers at once, each queued fault taken exactly once and never an IndexError
    # (without the lock two takers both see one fault left and both take it).
    local.faults._queue = _SlowDeque(local.faults._queue)
    taken: list[str | None] = []
    errors: list[BaseException] = []

    def taker() -> None:
        try:
            while (fault := local.faults.pop()) is not None:
                taken.append(fault.code)
        except BaseException as exc:  # reported below
            errors.append(exc)

    takers = [threading.Thread(target=taker) for _ in range(8)]
    for t in takers:
        t.start()
    for t in takers:
        t.join()
    assert errors == []
    assert sorted(taken, key=str) == sorted(f"w{w}-{i}" for w in range(4) for i in range(200))


def test_request_log(local: LocalDeployment, http: httpx.Client) -> None:
    http.post(
        local.deployment.predict_url + "?x=1",
        json={"prompt": "logged"},
        headers={"route": "/v1/completions"},
    )
    [req] = local.requests
    assert req.method == "POST"
    assert req.path == f"/{local.ocid}/predict?x=1"
    assert req.headers["route"] == "/v1/completions"
    assert req.headers["authorization"].startswith("Signature ")
    assert req.json() == {"prompt": "logged"}
    assert req.status == 200
    local.clear_requests()
    assert local.requests == []


def test_request_log_is_bounded() -> None:
    with LocalDeployment(verify_signatures=False, request_log_size=2) as local:
        for prompt in ("a", "b", "c"):
            httpx.post(local.deployment.predict_url, json={"prompt": prompt})
        assert [r.json()["prompt"] for r in local.requests] == ["b", "c"]
    with LocalDeployment(verify_signatures=False, request_log_size=0) as local:
        assert httpx.post(local.deployment.predict_url, json={"prompt": "x"}).status_code == 200
        assert local.requests == []


def test_connections_use_tcp_nodelay(local: LocalDeployment, http: httpx.Client) -> None:
    http.post(local.deployment.predict_url, json={"prompt": "x"})
    transports = list(local._emulator.transports.values())
    assert transports
    for transport in transports:
        sock = transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


# ---- capacity ----------------------------------------------------------------------------


def test_holds_500_concurrent_streams() -> None:
    """500 raw streams open at once: each reads its first event, waits for all, then ends."""
    count = 500

    async def run(local: LocalDeployment) -> list[int]:
        body = json.dumps({"prompt": "one two three four five", "stream": True}).encode()
        request = (
            f"POST /{local.ocid}/predictWithResponseStream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode() + body
        all_open = asyncio.Event()
        opened = 0
        peak_seen: list[int] = []

        async def one() -> int:
            nonlocal opened
            reader, writer = await asyncio.open_connection("127.0.0.1", local.port)
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"data: ")
            assert head.startswith(b"HTTP/1.1 200")
            opened += 1
            if opened == count:
                peak_seen.append(local.active_streams)
                all_open.set()
            await asyncio.wait_for(all_open.wait(), 60)
            rest = await asyncio.wait_for(reader.read(), 60)
            writer.close()
            assert rest.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n") or rest.endswith(b"[DONE]\n\n")
            return (b"data: " + rest).count(b"data: {")

        results = await asyncio.wait_for(asyncio.gather(*[one() for _ in range(count)]), 120)
        assert peak_seen == [count]
        return results

    # 7 tokens, 0.75 s apart: every stream stays open 4.5 s after its first event, ample
    # time for all 500 to connect (about 0.5 s here) while the first are still open.
    with LocalDeployment(verify_signatures=False, token_delay=0.75) as local:
        results = asyncio.run(run(local))
        assert local.peak_streams == count
    assert results == [7] * count


# ---- gateway mode ------------------------------------------------------------------------

_CANNED_STREAM = (
    b'data: {"id":"up-1","object":"text_completion","choices":[{"index":0,"text":"Up",'
    b'"finish_reason":null}]}\n\n'
    b": ping\n\n"
    b'data: {"id":"up-1","object":"text_completion","choices":[{"index":0,"text":"stream",'
    b'"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


class _FakeUpstream:
    """A minimal OpenAI-compatible ASGI server: records requests, answers canned bytes."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str], bytes]] = []
        self.disconnects: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.seen.append((scope["path"], headers, body))
        payload = json.loads(body)
        if payload.get("prompt") == "fail":
            out = json.dumps(
                {
                    "error": {
                        "message": "bad prompt",
                        "type": "BadRequestError",
                        "param": None,
                        "code": 400,
                    }
                }
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": out})
            return
        if payload.get("prompt") == "hold":
            # One chunk, then nothing until the client goes away (a long generation).
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            await send(
                {"type": "http.response.body", "body": b'data: {"x":1}\n\n', "more_body": True}
            )
            message = await asyncio.wait_for(receive(), 30)
            self.disconnects.append(message["type"])
            return
        if payload.get("stream"):
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream"), (b"x-upstream", b"yes")],
                }
            )
            for piece in _CANNED_STREAM.split(b"\n\n")[:-1]:
                await send(
                    {"type": "http.response.body", "body": piece + b"\n\n", "more_body": True}
                )
            await send({"type": "http.response.body", "body": b""})
            return
        out = json.dumps({"path": scope["path"], "echo": payload}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": out})


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, _FakeUpstream]]:
    import uvicorn

    app = _FakeUpstream()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def gateway(upstream: tuple[str, _FakeUpstream]) -> Iterator[tuple[LocalDeployment, _FakeUpstream]]:
    url, app = upstream
    app.seen.clear()
    app.disconnects.clear()
    with LocalDeployment(upstream=url) as local:
        yield local, app


def test_gateway_forwards_by_route_header(gateway: tuple[LocalDeployment, _FakeUpstream]) -> None:
    local, app = gateway
    with httpx.Client(auth=local.auth) as http:
        r = http.post(
            local.deployment.predict_url,
            json={"prompt": "hi", "max_tokens": 3},
            headers={"route": "/v1/chat/completions"},
        )
    assert r.status_code == 200
    assert r.json() == {"path": "/v1/chat/completions", "echo": {"prompt": "hi", "max_tokens": 3}}
    assert r.headers["opc-request-id"]
    [(path, headers, body)] = app.seen
    assert path == "/v1/chat/completions"
    assert "authorization" not in headers  # the signature stops at the gateway
    assert json.loads(body) == {"prompt": "hi", "max_tokens": 3}


def test_gateway_path_form_and_body_default(gateway: tuple[LocalDeployment, _FakeUpstream]) -> None:
    local, app = gateway
    with httpx.Client(auth=local.auth) as http:
        # A classic gateway routes no path after /predict: the service's 404, nothing sent.
        refused = http.post(local.deployment.predict_url + "/v1/embeddings", json={"input": "x"})
        assert refused.status_code == 404
        assert refused.json()["code"] == "NotAuthorizedOrNotFound"
        http.post(local.deployment.predict_url, json={"messages": []})
        http.post(local.deployment.predict_url, json={"prompt": "p"})
    mie = LocalDeployment(upstream=local.upstream, api_specification="openai")
    with mie, httpx.Client(auth=mie.auth) as http:
        http.post(mie.deployment.predict_url + "/v1/embeddings", json={"input": "x"})
        refused = http.post(mie.deployment.predict_url + "/v1/nope", json={"input": "x"})
        assert refused.status_code == 404
    assert [p for p, _, _ in app.seen] == [
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
    ]


def test_gateway_streams_bytes_through_unchanged(
    gateway: tuple[LocalDeployment, _FakeUpstream],
) -> None:
    local, _ = gateway
    with (
        httpx.Client(auth=local.auth) as http,
        http.stream(
            "POST",
            local.deployment.stream_url,
            json={"prompt": "x", "stream": True},
            headers={"opc-request-id": "gw-1"},
        ) as r,
    ):
        assert r.status_code == 200
        assert r.headers["x-upstream"] == "yes"
        assert r.headers["opc-request-id"] == "gw-1"
        assert r.read() == _CANNED_STREAM


def test_gateway_checks_signatures_and_the_stream_rule(
    gateway: tuple[LocalDeployment, _FakeUpstream],
) -> None:
    local, app = gateway
    r = httpx.post(local.deployment.predict_url, json={"prompt": "x"})
    assert r.status_code == 401 and r.json()["code"] == "NotAuthenticated"
    with httpx.Client(auth=local.auth) as http:
        r = http.post(local.deployment.stream_url, json={"prompt": "x"})
    assert r.status_code == 409
    assert app.seen == []  # neither reached the model server


def test_gateway_passes_upstream_errors_and_faults(
    gateway: tuple[LocalDeployment, _FakeUpstream],
) -> None:
    local, app = gateway
    local.faults.push(status=429, retry_after=2)
    with httpx.Client(auth=local.auth) as http:
        r = http.post(local.deployment.predict_url, json={"prompt": "x"})
        assert (r.status_code, r.headers["retry-after"]) == (429, "2")
        r = http.post(local.deployment.predict_url, json={"prompt": "fail"})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "bad prompt"
    assert r.headers["opc-request-id"]
    assert len(app.seen) == 1


def test_gateway_closes_upstream_when_the_client_leaves(
    gateway: tuple[LocalDeployment, _FakeUpstream],
) -> None:
    local, app = gateway
    with httpx.Client(auth=local.auth) as http:
        body = {"prompt": "hold", "stream": True}
        with http.stream("POST", local.deployment.stream_url, json=body) as r:
            assert next(r.iter_raw()) == b'data: {"x":1}\n\n'
        # The upstream sends nothing more, so only the gateway's watch on the client's
        # connection can notice; it must then close the upstream request.
        deadline = time.monotonic() + 10
        while not app.disconnects and time.monotonic() < deadline:
            time.sleep(0.01)
    assert app.disconnects == ["http.disconnect"]


def test_gateway_with_upstream_down_is_503() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (
        LocalDeployment(upstream=f"http://127.0.0.1:{port}") as local,
        httpx.Client(auth=local.auth) as http,
    ):
        r = http.post(local.deployment.predict_url, json={"prompt": "x"})
    assert r.status_code == 503
    assert r.json()["code"] == "ServiceUnavailable"


def test_busy_port_is_a_clear_error(local: LocalDeployment) -> None:
    from odsc_llm import OdscLLMError

    with pytest.raises(OdscLLMError, match="is the port free"):
        LocalDeployment(port=local.port).start()


def test_upstream_must_be_a_url() -> None:
    with pytest.raises(ValueError, match="http"):
        LocalDeployment(upstream="localhost:8000")


# ---- python -m odsc_llm.testing ----------------------------------------------------------


def test_module_cli_serves_until_terminated(tmp_path: Any) -> None:
    import re
    import signal
    import subprocess
    import sys

    import odsc_llm

    proc = subprocess.Popen(
        [sys.executable, "-m", "odsc_llm.testing", "--port", "0", "--config-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = _read_banner(proc)
        match = re.search(r"URL:\s+(\S+)", banner)
        assert match, banner
        assert f"export OCI_CONFIG_FILE={tmp_path / 'config'}" in banner
        auth = odsc_llm.auth.api_key(config_file=str(tmp_path / "config"))
        with odsc_llm.Client(deployment=match[1], auth=auth) as client:
            assert client.completions.create(prompt="cli").choices[0].text == "You said: cli"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0
        assert "Stopping." in out
        # A --config-dir is the user's: what was written there stays.
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "config",
            "local_key.pem",
            "local_token",
        ]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


# ---- nothing left behind ---------------------------------------------------------------------

_ENTRY_POINTS = {
    "python -m odsc_llm.testing": ["-m", "odsc_llm.testing"],
    "odsc-llm serve-local": ["-m", "odsc_llm", "serve-local"],
}


def _serve_local(entry: str, temp: Path, *args: str, **kwargs: Any) -> Any:
    import os
    import subprocess
    import sys

    env = {**os.environ, "TMPDIR": str(temp)}
    command = [sys.executable, *_ENTRY_POINTS[entry], *args]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kwargs
    )


@pytest.mark.parametrize("entry", sorted(_ENTRY_POINTS))
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_serve_local_removes_what_it_wrote_on_a_signal(
    tmp_path: Path, entry: str, signame: str
) -> None:
    import re
    import signal

    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = _serve_local(entry, temp, "--port", "0")
    try:
        banner = _read_banner(proc)
        match = re.search(r"config:\s+(\S+)", banner)
        assert match, banner
        config = Path(match[1])
        assert config.parent.parent == temp
        assert sorted(p.name for p in config.parent.iterdir()) == [
            "config",
            "local_key.pem",
            "local_token",
        ]
        proc.send_signal(getattr(signal, signame))
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert out.strip() == "Stopping."
        assert err == ""
        assert list(temp.iterdir()) == []  # the config, key and token are gone
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_serve_local_on_a_taken_port_says_so_and_leaves_nothing(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _serve_local("odsc-llm serve-local", temp, "--port", str(port))
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "error: " in lines[0]
    assert f"127.0.0.1:{port}" in lines[0]
    assert "port" in lines[0].split(f":{port}", 1)[1]  # says what to do about the port
    assert "URL:" not in out
    assert list(temp.iterdir()) == []


def test_local_deployment_removes_the_config_dir_it_made(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    with LocalDeployment(verify_signatures=False) as local:
        made = local.write_oci_config()
        kept = local.write_oci_config(mine)
        assert made.exists() and made.parent != mine
        assert (made.parent / "local_key.pem").exists()
    assert not made.parent.exists()
    assert kept == mine / "config"
    assert sorted(p.name for p in mine.iterdir()) == ["config", "local_key.pem", "local_token"]


def test_a_failed_start_leaves_nothing(local: LocalDeployment) -> None:
    from odsc_llm import OdscLLMError

    other = LocalDeployment(port=local.port)
    made = other.write_oci_config()
    with pytest.raises(OdscLLMError, match="is the port free"):
        other.start()
    assert not made.parent.exists()


def _read_banner(proc: Any) -> str:
    """What serve-local printed, up to its last line ("Press Ctrl-C to stop.")."""
    assert proc.stdout is not None
    banner = ""
    for line in proc.stdout:
        banner += line
        if "Ctrl-C" in line:
            break
    return banner
