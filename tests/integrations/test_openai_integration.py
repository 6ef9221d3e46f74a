"""The real ``openai`` package driven through odsc_llm.openai_client, against the emulator."""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest

import odsc_llm
from odsc_llm import AuthError
from odsc_llm.integrations.openai import (
    DeploymentAuth,
    async_http_client,
    async_openai_client,
    base_url,
    http_client,
    openai_client,
)

openai = pytest.importorskip(
    "openai", reason="openai is not installed (pip install 'odsc-llm[openai]')"
)
pytest.importorskip("uvicorn", reason="the emulator needs the testing extra")

from odsc_llm.testing import LocalDeployment  # noqa: E402

MESSAGES = [{"role": "user", "content": "hi there"}]


def _sent(local: LocalDeployment) -> list[tuple[str, str | None]]:
    """(path, route header) of each request (routing="header", the default)."""
    prefix = "/" + local.deployment.ocid
    return [(r.path.removeprefix(prefix), r.headers.get("route")) for r in local.requests]


def _assert_signed(local: LocalDeployment) -> None:
    assert local.requests
    for request in local.requests:
        assert request.headers["authorization"].startswith("Signature ")
        assert "bearer" not in request.headers["authorization"].lower()
        assert request.status == 200  # the emulator verified the signature


def test_exports() -> None:
    assert odsc_llm.openai_client is openai_client
    assert odsc_llm.async_openai_client is async_openai_client


def test_completions(emulator: LocalDeployment) -> None:
    client = openai_client(emulator.deployment, auth=emulator.auth)
    assert isinstance(client, openai.OpenAI)
    assert str(client.base_url).rstrip("/") == f"{emulator.deployment.endpoint}/predict/v1"
    answer = client.completions.create(model="odsc-llm", prompt="hello", max_tokens=20)
    assert answer.choices[0].text == "You said: hello"
    assert _sent(emulator) == [("/predict", "/v1/completions")]
    _assert_signed(emulator)


def test_chat(emulator: LocalDeployment) -> None:
    client = openai_client(emulator.url, auth=emulator.auth)
    answer = client.chat.completions.create(model="odsc-llm", messages=MESSAGES)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "You said: hi there"
    assert _sent(emulator) == [("/predict", "/v1/chat/completions")]
    _assert_signed(emulator)


def test_chat_stream_goes_to_the_stream_endpoint(emulator: LocalDeployment) -> None:
    client = openai_client(emulator.deployment, auth=emulator.auth)
    stream = client.chat.completions.create(model="odsc-llm", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "You said: hi there"
    assert _sent(emulator) == [("/predictWithResponseStream", "/v1/chat/completions")]
    headers = emulator.requests[0].headers
    assert headers["accept"] == "text/event-stream"
    assert headers["enable-streaming"] == "true"
    _assert_signed(emulator)


def test_completion_stream_on_predict(emulator: LocalDeployment) -> None:
    client = openai_client(emulator.deployment, auth=emulator.auth, stream_endpoint="predict")
    stream = client.completions.create(model="odsc-llm", prompt="hello", stream=True)
    assert "".join(chunk.choices[0].text for chunk in stream if chunk.choices) == (
        "You said: hello"
    )
    assert _sent(emulator) == [("/predict", "/v1/completions")]
    assert emulator.requests[0].headers["enable-streaming"] == "true"
    _assert_signed(emulator)


def test_embeddings(emulator: LocalDeployment) -> None:
    client = openai_client(emulator.deployment, auth=emulator.auth)
    result = client.embeddings.create(model="odsc-llm", input=["a", "b"])
    assert len(result.data) == 2 and len(result.data[0].embedding) > 0
    assert _sent(emulator) == [("/predict", "/v1/embeddings")]


async def test_async_client(emulator: LocalDeployment) -> None:
    client = async_openai_client(emulator.deployment, auth=emulator.auth)
    assert isinstance(client, openai.AsyncOpenAI)
    async with client:
        answer = await client.completions.create(model="odsc-llm", prompt="hello")
        assert answer.choices[0].text == "You said: hello"
        stream = await client.chat.completions.create(
            model="odsc-llm",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
        )
        parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
        assert "".join(parts) == "You said: hi there"
    assert _sent(emulator) == [
        ("/predict", "/v1/completions"),
        ("/predictWithResponseStream", "/v1/chat/completions"),
    ]
    _assert_signed(emulator)


def test_409_is_not_retried_and_503_is(emulator: LocalDeployment) -> None:
    client = openai_client(emulator.deployment, auth=emulator.auth, max_retries=2)
    emulator.faults.push(status=409)
    with pytest.raises(openai.ConflictError):
        client.completions.create(model="odsc-llm", prompt="hello")
    assert len(emulator.requests) == 1

    emulator.clear_requests()
    emulator.faults.push(status=503, retry_after=0)
    answer = client.completions.create(model="odsc-llm", prompt="hello")
    assert answer.choices[0].text == "You said: hello"
    assert len(emulator.requests) == 2  # each attempt signed afresh and accepted
    assert emulator.requests[1].status == 200


def test_wrong_signature_is_an_authentication_error(emulator: LocalDeployment) -> None:
    other = LocalDeployment()  # a different key pair: the emulator must refuse it
    client = openai_client(emulator.deployment, auth=other.auth, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.completions.create(model="odsc-llm", prompt="hello")


# ---- the adapter on its own (no server) ---------------------------------------------


class _FakeSigner:
    """Stands in for an oci signer: records what it signs."""

    def __init__(self) -> None:
        self.signed: list[str] = []

    def __call__(self, request: Any) -> Any:
        self.signed.append(request.url)
        request.headers["authorization"] = 'Signature version="1",keyId="k",signature="s"'
        return request


DEP = "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.datasciencemodeldeployment.oc1.iad.abc"


def _auth(routing: Any = "header") -> DeploymentAuth:
    return DeploymentAuth(odsc_llm.auth.from_signer(_FakeSigner()), DEP, routing=routing)


def test_prepare_strips_bearer_and_rewrites_stream_path() -> None:
    auth = _auth("path")
    request = httpx.Request(
        "POST",
        f"{DEP}/predict/v1/chat/completions",
        headers={"authorization": "Bearer placeholder"},
        content=b'{"model": "odsc-llm", "stream": true}',
    )
    auth.prepare(request)
    assert "authorization" not in request.headers
    assert request.url.path.endswith(
        "/ocid1.datasciencemodeldeployment.oc1.iad.abc/predictWithResponseStream/v1/chat/completions"
    )
    assert request.headers["accept"] == "text/event-stream"

    plain = httpx.Request("POST", f"{DEP}/predict/v1/completions", content=b'{"stream": false}')
    auth.prepare(plain)
    assert plain.url.path.endswith("/predict/v1/completions")
    assert "enable-streaming" not in plain.headers


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/ocid1.datasciencemodeldeployment.oc1.iad.abc/predict/v1/x",
        "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.other/predict",
        "http://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.datasciencemodeldeployment.oc1.iad.abc/predict",
    ],
)
def test_never_signs_for_another_origin(url: str) -> None:
    with pytest.raises(AuthError, match="Refusing to sign"):
        _auth().prepare(httpx.Request("POST", url, content=b"{}"))


def test_signing_through_pytest_httpx(httpx_mock: Any) -> None:
    httpx_mock.add_response(
        url=f"{DEP}/predict",
        match_headers={"route": "/v1/completions"},
        json={
            "id": "1",
            "object": "text_completion",
            "created": 1,
            "model": "odsc-llm",
            "choices": [{"index": 0, "text": "ok", "finish_reason": "stop"}],
        },
    )
    signer = _FakeSigner()
    auth = odsc_llm.auth.from_signer(signer)
    client = openai_client(  # pytest-httpx mocks httpx (the httpx2 flavor: test_openai_httpx2)
        DEP, auth=auth, http_client=http_client(DEP, auth, flavor="httpx"), max_retries=0
    )
    assert client.completions.create(model="odsc-llm", prompt="x").choices[0].text == "ok"
    sent = httpx_mock.get_requests()
    assert len(sent) == 1 and sent[0].headers["authorization"].startswith("Signature ")
    assert signer.signed == [f"{DEP}/predict"]  # signed as sent: after the routing


def test_bad_arguments() -> None:
    auth = odsc_llm.auth.from_signer(_FakeSigner())
    with pytest.raises(TypeError, match="base_url"):
        openai_client(DEP, auth=auth, base_url="https://api.openai.com/v1")
    with pytest.raises(TypeError, match="api_key"):
        openai_client(DEP, auth=auth, api_key="sk-secret")
    with pytest.raises(TypeError, match="http_client"):
        openai_client(DEP, auth=auth, http_client=httpx.Client())
    with pytest.raises(AuthError, match="from_signer"):
        openai_client(DEP, auth="not an auth")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stream_endpoint"):
        openai_client(DEP, auth=auth, stream_endpoint="stream")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="follow_redirects"):
        http_client(DEP, auth, follow_redirects=True)
    custom = async_http_client(DEP, auth, flavor="httpx", timeout=5.0)
    assert isinstance(custom.auth, DeploymentAuth)
    assert isinstance(async_openai_client(DEP, auth=auth, http_client=custom), openai.AsyncOpenAI)
    assert base_url(DEP) == f"{DEP}/predict/v1"
    assert "Bearer" not in repr(custom.auth) and "keyId" not in repr(custom.auth)


def test_missing_openai_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(ImportError, match=r"odsc-llm\[openai\]"):
        openai_client(DEP, auth=odsc_llm.auth.from_signer(_FakeSigner()))


@pytest.mark.parametrize("build", [http_client, async_http_client], ids=["sync", "async"])
def test_the_http_clients_get_the_linear_pool_unless_given_a_transport(build: Any) -> None:
    from odsc_llm._transport import is_capped, is_linear

    dep = "http://127.0.0.1:1/ocid1.datasciencemodeldeployment.oc1.iad.x"
    ours = build(dep, auth=httpx.Auth(), flavor="httpx")
    transport = httpx.HTTPTransport() if build is http_client else httpx.AsyncHTTPTransport()
    theirs = build(dep, auth=httpx.Auth(), flavor="httpx", transport=transport)
    assert is_linear(ours) and is_capped(ours)
    assert not is_linear(theirs) and not is_capped(theirs)
