"""``odsc_llm.proxy.create_app`` with one deployment, through openai-python and raw HTTP."""

from __future__ import annotations

import json
import logging
import socket
import time

import httpx
import openai
import pytest

from odsc_llm.errors import InvalidRequestError
from odsc_llm.proxy import create_app
from odsc_llm.testing import LocalDeployment

from ..support.proxy import KEY, running

PROMPT = [{"role": "user", "content": "hello proxy"}]


def _client(proxy_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proxy_url}/v1", api_key=KEY, max_retries=0)


# ---- openai-python: sync, async, streamed ------------------------------------------------


def test_openai_chat_is_signed_and_routed_by_header(proxy_url: str, local: LocalDeployment) -> None:
    answer = _client(proxy_url).chat.completions.create(model="any-name", messages=PROMPT)
    assert answer.choices[0].message.content == "You said: hello proxy"
    (sent,) = local.requests
    assert sent.path == f"/{local.ocid}/predict"
    assert sent.headers["route"] == "/v1/chat/completions"
    assert sent.headers["authorization"].startswith("Signature ")
    assert KEY not in json.dumps(sent.headers)  # the caller's key never travels upstream
    assert "x-api-key" not in sent.headers
    assert sent.json()["model"] == "odsc-llm"  # a single deployment serves every name


def test_openai_completions_embeddings_and_models(proxy_url: str, local: LocalDeployment) -> None:
    client = _client(proxy_url)
    text = client.completions.create(model="m", prompt="one two", max_tokens=5)
    assert text.choices[0].text == "You said: one two"
    vector = client.embeddings.create(model="m", input="hi").data[0].embedding
    assert len(vector) == 32
    assert [m.id for m in client.models.list()] == ["odsc-llm"]  # the deployment's own list
    routes = [r.headers.get("route") for r in local.requests]
    assert routes == ["/v1/completions", "/v1/embeddings", "/v1/models"]
    models = local.requests[-1]
    assert models.method == "GET" and models.headers["content-length"] == "0"


def test_openai_stream_passes_through(proxy_url: str, local: LocalDeployment) -> None:
    stream = _client(proxy_url).chat.completions.create(model="m", messages=PROMPT, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "You said: hello proxy"
    (sent,) = local.requests
    assert sent.path == f"/{local.ocid}/predictWithResponseStream"
    assert sent.headers["enable-streaming"] == "true"
    assert sent.headers["accept"] == "text/event-stream"


async def test_openai_async_chat_and_stream(proxy_url: str) -> None:
    client = openai.AsyncOpenAI(base_url=f"{proxy_url}/v1", api_key=KEY, max_retries=0)
    answer = await client.chat.completions.create(model="m", messages=PROMPT)
    assert answer.choices[0].message.content == "You said: hello proxy"
    stream = await client.chat.completions.create(model="m", messages=PROMPT, stream=True)
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(parts) == "You said: hello proxy"
    await client.close()


def test_stream_bytes_are_the_deployments(proxy_url: str, local: LocalDeployment) -> None:
    body = {"model": "m", "messages": PROMPT, "stream": True}
    headers = {"authorization": f"Bearer {KEY}"}
    through = httpx.post(f"{proxy_url}/v1/chat/completions", json=body, headers=headers)
    direct = httpx.post(
        f"{local.url}/predictWithResponseStream",
        json={**body, "model": "odsc-llm"},
        headers={"route": "/v1/chat/completions"},
        auth=local.auth,
    )

    def shape(text: str) -> list[str]:  # ids and times differ; the events do not
        return [line.split('"id"')[0] for line in text.split("\n\n")]

    assert through.headers["content-type"].startswith("text/event-stream")
    assert shape(through.text) == shape(direct.text)
    assert through.text.endswith("data: [DONE]\n\n")


def test_path_routing(mie_emulator: LocalDeployment) -> None:
    local = mie_emulator  # the path form is routed only with Multiple Inference Endpoints
    with running(create_app(local.url, auth=local.auth, routing="path")) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        client.chat.completions.create(model="m", messages=PROMPT)
        list(client.chat.completions.create(model="m", messages=PROMPT, stream=True))
    paths = [(r.path, r.headers.get("route")) for r in local.requests]
    assert paths == [
        (f"/{local.ocid}/predict/v1/chat/completions", None),
        (f"/{local.ocid}/predictWithResponseStream/v1/chat/completions", None),
    ]


# ---- the key ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong"}, {"x-api-key": "wrong"}, {"authorization": KEY}],
)
def test_missing_or_wrong_key_is_401(
    proxy_url: str, local: LocalDeployment, headers: dict[str, str]
) -> None:
    answer = httpx.post(f"{proxy_url}/v1/chat/completions", json={}, headers=headers)
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["code"] == "invalid_api_key" and "x-api-key" in error["message"]
    assert local.requests == []


def test_x_api_key_and_no_key_for_health(proxy_url: str, local: LocalDeployment) -> None:
    body = {"model": "m", "messages": PROMPT}
    answer = httpx.post(f"{proxy_url}/v1/chat/completions", json=body, headers={"x-api-key": KEY})
    assert answer.status_code == 200
    health = httpx.get(f"{proxy_url}/health")
    assert health.status_code == 200
    assert health.json() == {"deployments": [{"deployment": local.ocid, "ok": True}]}


def test_health_says_when_a_deployment_is_down(local: LocalDeployment) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    dead = f"http://127.0.0.1:{port}/{local.ocid}"
    with running(create_app(dead, auth=local.auth)) as url:
        health = httpx.get(f"{url}/health")
    assert health.status_code == 200
    assert health.json()["deployments"][0]["ok"] is False


# ---- refusals before anything goes upstream ---------------------------------------------


def test_oversized_body_is_413_before_upstream(proxy_url: str, local: LocalDeployment) -> None:
    big = b'{"model": "m", "prompt": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
    answer = httpx.post(f"{proxy_url}/v1/completions", content=big, headers=headers)
    assert answer.status_code == 413
    assert "10 MiB" in answer.json()["error"]["message"]

    def chunked() -> object:
        for _ in range(11):
            yield b"x" * (1024 * 1024)

    answer = httpx.post(f"{proxy_url}/v1/completions", content=chunked(), headers=headers)
    assert answer.status_code == 413
    assert local.requests == []


def test_at_the_limit_is_forwarded(proxy_url: str, local: LocalDeployment) -> None:
    # Written as the proxy writes it upstream (compact, the served name): the same size.
    head, tail = b'{"model":"odsc-llm","max_tokens":1,"prompt":"', b'"}'
    body = head + b"x" * (10 * 1024 * 1024 - len(head) - len(tail)) + tail
    headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
    answer = httpx.post(f"{proxy_url}/v1/completions", content=body, headers=headers, timeout=60)
    assert answer.status_code == 200
    assert len(local.requests) == 1


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/v1/nothing", 404), ("GET", "/v1/chat/completions", 405)],
)
def test_unknown_path_and_method(proxy_url: str, method: str, path: str, status: int) -> None:
    answer = httpx.request(method, proxy_url + path, headers={"x-api-key": KEY})
    assert answer.status_code == status
    assert answer.json()["error"]["message"]


def test_body_not_json_is_400(proxy_url: str, local: LocalDeployment) -> None:
    answer = httpx.post(
        f"{proxy_url}/v1/chat/completions", content=b"[1, 2]", headers={"x-api-key": KEY}
    )
    assert answer.status_code == 400
    assert local.requests == []


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/v1/chat/completions", "openai"),
        ("/v1/embeddings", "openai"),
        ("/v1/audio/transcriptions", "openai"),
        ("/v1/messages", "anthropic"),
    ],
)
def test_empty_body_is_400_before_upstream(
    proxy_url: str, local: LocalDeployment, path: str, shape: str
) -> None:
    answer = httpx.post(proxy_url + path, content=b"", headers={"x-api-key": KEY})
    assert answer.status_code == 400
    error = answer.json()
    if shape == "anthropic":
        assert error["type"] == "error"
        assert error["error"]["type"] == "invalid_request_error"
        message = error["error"]["message"]
    else:
        assert error["error"]["type"] == "invalid_request_error"
        message = error["error"]["message"]
    assert message.startswith("The request body is empty")
    assert local.requests == []


# ---- upstream answers and failures ---------------------------------------------------------


def test_upstream_error_passes_through(proxy_url: str, local: LocalDeployment) -> None:
    local.faults.push(status=503)
    with pytest.raises(openai.InternalServerError) as caught:
        _client(proxy_url).chat.completions.create(model="m", messages=PROMPT)
    assert caught.value.status_code == 503
    assert caught.value.response.headers["opc-request-id"]


@pytest.mark.parametrize("fault", ["cut_before_done", "reset_mid_stream"])
def test_broken_stream_ends_with_an_error_event(
    proxy_url: str, local: LocalDeployment, fault: str
) -> None:
    local.faults.push(**{fault: True})
    body = {"model": "m", "messages": PROMPT, "stream": True}
    answer = httpx.post(f"{proxy_url}/v1/chat/completions", json=body, headers={"x-api-key": KEY})
    events = [e for e in answer.text.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    error = json.loads(events[-2].removeprefix("data: "))["error"]
    assert "stream" in error["message"]
    assert events[0].startswith("data: {")  # what came before is passed on
    local.faults.push(**{fault: True})
    stream = _client(proxy_url).chat.completions.create(model="m", messages=PROMPT, stream=True)
    with pytest.raises(openai.APIError):
        list(stream)


def test_the_deployments_own_error_event_is_passed_on(
    proxy_url: str, local: LocalDeployment
) -> None:
    local.faults.push(error_event=True)
    body = {"model": "m", "messages": PROMPT, "stream": True}
    answer = httpx.post(f"{proxy_url}/v1/chat/completions", json=body, headers={"x-api-key": KEY})
    assert "The model server failed" in answer.text
    assert answer.text.count("[DONE]") == 1  # vLLM's own end, nothing added


def test_client_disconnect_cancels_upstream(proxy_url: str, local: LocalDeployment) -> None:
    local.token_delay = 0.2
    body = {"model": "m", "messages": [{"role": "user", "content": "w " * 200}], "stream": True}
    with (
        httpx.Client() as client,
        client.stream(
            "POST", f"{proxy_url}/v1/chat/completions", json=body, headers={"x-api-key": KEY}
        ) as answer,
    ):
        next(answer.iter_bytes())
        assert local.active_streams == 1
    deadline = time.monotonic() + 5  # generous: the bound asked for is 1 s
    while local.active_streams and time.monotonic() < deadline:
        time.sleep(0.02)
    assert local.active_streams == 0


def _access_lines(caplog: pytest.LogCaptureFixture, count: int) -> list[str]:
    """The proxy's access lines, once ``count`` are written: the app writes its line after
    the answer's last byte, so the client can have the answer a moment before the line."""
    deadline = time.monotonic() + 5
    while True:
        lines = [r.getMessage() for r in caplog.records if r.name == "odsc_llm.proxy"]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)


def test_access_log_line(
    proxy_url: str, local: LocalDeployment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="odsc_llm.proxy")
    _client(proxy_url).chat.completions.create(model="my model", messages=PROMPT)
    httpx.post(f"{proxy_url}/v1/chat/completions", json={})
    ok, refused = _access_lines(caplog, 2)
    fields = dict(part.split("=", 1) for part in ok.split(" ") if "=" in part and '"' not in part)
    assert fields["method"] == "POST" and fields["path"] == "/v1/chat/completions"
    assert 'model="my model"' in ok
    assert fields["deployment"] == local.ocid and fields["status"] == "200"
    assert fields["opc_request_id"] == local.requests[0].request_id
    assert float(fields["ttfb_ms"]) >= 0 and float(fields["duration_ms"]) >= 0
    assert "status=401" in refused and "opc_request_id=-" in refused
    assert KEY not in ok + refused and "Signature" not in ok + refused


# ---- arguments ------------------------------------------------------------------------------


def test_bad_arguments_are_typed_errors(local: LocalDeployment) -> None:
    with pytest.raises(InvalidRequestError, match="routing"):
        create_app(local.url, auth=local.auth, routing="nope")
    with pytest.raises(InvalidRequestError, match="not both"):
        create_app(local.url, auth=local.auth, config={"models": {}})
    with pytest.raises(InvalidRequestError, match="api_key"):
        create_app(local.url, auth=local.auth, api_key="  ")


def test_no_deployment_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ODSC_LLM_DEPLOYMENT", raising=False)
    with pytest.raises(InvalidRequestError, match="ODSC_LLM_DEPLOYMENT"):
        create_app(auth=httpx.BasicAuth("a", "b"))


def test_transcription_is_multipart_with_its_model_replaced(
    proxy_url: str, local: LocalDeployment
) -> None:
    audio = b"RIFF\x00\x01binary\r\n--not-a-boundary\r\n\xff"
    httpx.post(
        f"{proxy_url}/v1/audio/transcriptions",
        data={"model": "whisper-1", "language": "en"},
        files={"file": ("a.wav", audio, "audio/wav")},
        headers={"x-api-key": KEY},
    )
    (sent,) = local.requests
    assert sent.headers["route"] == "/v1/audio/transcriptions"
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="model"\r\n\r\nodsc-llm\r\n' in sent.body
    assert b"whisper-1" not in sent.body and audio in sent.body  # the file, byte for byte
    assert b'name="language"\r\n\r\nen\r\n' in sent.body
