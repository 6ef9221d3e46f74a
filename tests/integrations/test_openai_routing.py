"""Routing of the OpenAI-SDK adapter: ``route`` header (default) or path form.

The real ``openai`` SDK against the emulator (a classic deployment for the header form, an
MIE one for the path form; the emulator verifies every signature over what was sent), and
the exact URLs and headers through pytest-httpx, sync and async.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import httpx
import pytest

import odsc_llm
from odsc_llm import AuthError, InvalidRequestError
from odsc_llm.integrations.openai import (
    DeploymentAuth,
    async_http_client,
    async_openai_client,
    base_url,
    http_client,
    openai_client,
)
from tests.support.deployments import DeploymentKind
from tests.support.routing import (
    assert_all_signed,
    openai_flavors,
    sent,
    sent_paths,
    sent_routes,
)

openai = pytest.importorskip(
    "openai", reason="openai is not installed (pip install 'odsc-llm[openai]')"
)
pytest.importorskip("uvicorn", reason="the emulator needs the testing extra")

from odsc_llm.testing import LocalDeployment  # noqa: E402

MESSAGES: Any = [{"role": "user", "content": "hi there"}]
DEP = "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.datasciencemodeldeployment.oc1.iad.abc"


def _expected(routing: str, calls: list[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """(path, route header) the deployment should see for each (endpoint, suffix) call."""
    if routing == "header":
        return [(f"/{endpoint}", suffix) for endpoint, suffix in calls]
    return [(f"/{endpoint}{suffix}", None) for endpoint, suffix in calls]


CALLS = [
    ("predict", "/v1/chat/completions"),
    ("predictWithResponseStream", "/v1/chat/completions"),
    ("predict", "/v1/embeddings"),
    ("predict", "/v1/models"),
]


def _check_sent(local: LocalDeployment, routing: str) -> None:
    assert sent(local) == _expected(routing, CALLS)
    get = local.requests[-1]
    assert get.method == "GET" and get.headers["content-length"] == "0"
    stream = local.requests[1]
    assert stream.headers["enable-streaming"] == "true"
    assert stream.headers["accept"] == "text/event-stream"
    assert_all_signed(local)


@pytest.mark.parametrize("flavor", openai_flavors())
def test_openai_sdk_on_each_routing(deployment_kind: DeploymentKind, flavor: Any) -> None:
    local, routing = deployment_kind.local, deployment_kind.routing
    http = http_client(local.deployment, local.auth, routing=routing, flavor=flavor)
    client = openai_client(
        local.deployment, auth=local.auth, routing=routing, http_client=http, max_retries=0
    )
    answer = client.chat.completions.create(model="odsc-llm", messages=MESSAGES)
    assert answer.choices[0].message.content == "You said: hi there"
    stream = client.chat.completions.create(model="odsc-llm", messages=MESSAGES, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "You said: hi there"
    assert len(client.embeddings.create(model="odsc-llm", input=["a", "b"]).data) == 2
    assert [m.id for m in client.models.list()] == ["odsc-llm"]
    _check_sent(local, routing)


@pytest.mark.parametrize("flavor", openai_flavors())
async def test_async_openai_sdk_on_each_routing(
    deployment_kind: DeploymentKind, flavor: Any
) -> None:
    local, routing = deployment_kind.local, deployment_kind.routing
    http = async_http_client(local.deployment, local.auth, routing=routing, flavor=flavor)
    client = async_openai_client(
        local.deployment, auth=local.auth, routing=routing, http_client=http
    )
    async with client:
        answer = await client.chat.completions.create(model="odsc-llm", messages=MESSAGES)
        assert answer.choices[0].message.content == "You said: hi there"
        stream = await client.chat.completions.create(
            model="odsc-llm", messages=MESSAGES, stream=True
        )
        parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
        assert "".join(parts) == "You said: hi there"
        embedded = await client.embeddings.create(model="odsc-llm", input=["a", "b"])
        assert len(embedded.data) == 2
        assert [m.id async for m in client.models.list()] == ["odsc-llm"]
    _check_sent(local, routing)


def test_the_default_is_header_routing(emulator: LocalDeployment) -> None:
    client = openai_client(emulator.url, auth=emulator.auth)
    client.completions.create(model="odsc-llm", prompt="hello")
    assert sent_paths(emulator) == ["/predict"]
    assert sent_routes(emulator) == ["/v1/completions"]
    assert_all_signed(emulator)


def test_stream_endpoint_predict_keeps_streams_on_predict(emulator: LocalDeployment) -> None:
    client = openai_client(emulator.deployment, auth=emulator.auth, stream_endpoint="predict")
    stream = client.completions.create(model="odsc-llm", prompt="hello", stream=True)
    assert "".join(c.choices[0].text for c in stream if c.choices) == "You said: hello"
    assert sent_paths(emulator) == ["/predict"]
    assert sent_routes(emulator) == ["/v1/completions"]
    assert emulator.requests[0].headers["enable-streaming"] == "true"


# ---- the exact requests, for each routing and each flavor --------------------------


def _answer(request: Any, lib: Any) -> Any:
    """What a deployment would answer, chosen by the route (header or path); ``lib`` is
    ``httpx`` or ``httpx2`` (the mock transport's own library)."""
    route = request.headers.get("route") or request.url.path.split("/predict", 1)[1]
    if route.startswith("/v1/models"):
        return lib.Response(200, json={"object": "list", "data": [{"id": "odsc-llm"}]})
    if route.startswith("/v1/embeddings"):
        data = [{"object": "embedding", "index": 0, "embedding": [0.5]}]
        return lib.Response(200, json={"object": "list", "data": data, "model": "odsc-llm"})
    chunk = {
        "id": "1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "odsc-llm",
        "choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}],
    }
    if request.headers.get("enable-streaming") == "true":
        body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
        return lib.Response(200, content=body, headers={"content-type": "text/event-stream"})
    message = {"role": "assistant", "content": "ok"}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return lib.Response(200, json={**chunk, "object": "chat.completion", "choices": [choice]})


class _FakeSigner:
    """Stands in for an oci signer: records the URL and method it signs."""

    def __init__(self) -> None:
        self.signed: list[tuple[str, str]] = []

    def __call__(self, request: Any) -> Any:
        self.signed.append((request.method, request.url))
        request.headers["authorization"] = 'Signature version="1",keyId="k",signature="s"'
        return request


# (routing) -> what is sent for: chat with a query string, a stream, embeddings, models
EXACT = {
    "header": [
        ("POST", f"{DEP}/predict", "/v1/chat/completions?api-version=2"),
        ("POST", f"{DEP}/predictWithResponseStream", "/v1/chat/completions"),
        ("POST", f"{DEP}/predict", "/v1/embeddings"),
        ("GET", f"{DEP}/predict", "/v1/models"),
    ],
    "path": [
        ("POST", f"{DEP}/predict/v1/chat/completions?api-version=2", None),
        ("POST", f"{DEP}/predictWithResponseStream/v1/chat/completions", None),
        ("POST", f"{DEP}/predict/v1/embeddings", None),
        ("GET", f"{DEP}/predict/v1/models", None),
    ],
}
FLAVORS = openai_flavors()


class _Recorder:
    """A mock transport's handler of either flavor: answers and keeps what was sent."""

    def __init__(self, flavor: str, asynchronous: bool) -> None:
        self.lib = importlib.import_module(flavor)
        self.asynchronous = asynchronous
        self.sent: list[Any] = []

    def _handle(self, request: Any) -> Any:
        self.sent.append(request)
        return _answer(request, self.lib)

    def transport(self) -> Any:
        if not self.asynchronous:
            return self.lib.MockTransport(self._handle)

        async def handle(request: Any) -> Any:
            await request.aread()
            return self._handle(request)

        return self.lib.MockTransport(handle)

    def check(self, signer: _FakeSigner, routing: str) -> None:
        got = [(r.method, str(r.url), r.headers.get("route")) for r in self.sent]
        assert got == EXACT[routing]
        expected_signed = [(method, url) for method, url, _ in EXACT[routing]]
        assert signer.signed == expected_signed  # signed exactly what was sent
        assert self.sent[-1].headers["content-length"] == "0"
        for request in self.sent:
            assert request.headers["authorization"].startswith("Signature ")
            assert type(request).__module__.startswith(self.lib.__name__)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("routing", ["header", "path"])
def test_exact_requests(routing: Any, flavor: Any) -> None:
    recorder = _Recorder(flavor, asynchronous=False)
    signer = _FakeSigner()
    auth = odsc_llm.auth.from_signer(signer)
    http = http_client(DEP, auth, routing=routing, flavor=flavor, transport=recorder.transport())
    client = openai_client(DEP, auth=auth, routing=routing, http_client=http, max_retries=0)
    chat = client.chat.completions.create(
        model="odsc-llm", messages=MESSAGES, extra_query={"api-version": "2"}
    )
    assert chat.choices[0].message.content == "ok"
    stream = client.chat.completions.create(model="odsc-llm", messages=MESSAGES, stream=True)
    assert [c.choices[0].delta.content for c in stream] == ["ok"]
    assert client.embeddings.create(model="odsc-llm", input="a").data[0].embedding == [0.5]
    assert [m.id for m in client.models.list()] == ["odsc-llm"]
    recorder.check(signer, routing)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("routing", ["header", "path"])
async def test_async_exact_requests(routing: Any, flavor: Any) -> None:
    recorder = _Recorder(flavor, asynchronous=True)
    signer = _FakeSigner()
    auth = odsc_llm.auth.from_signer(signer)
    http = async_http_client(
        DEP, auth, routing=routing, flavor=flavor, transport=recorder.transport()
    )
    client = async_openai_client(DEP, auth=auth, routing=routing, http_client=http)
    async with client:
        chat = await client.chat.completions.create(
            model="odsc-llm", messages=MESSAGES, extra_query={"api-version": "2"}
        )
        assert chat.choices[0].message.content == "ok"
        stream = await client.chat.completions.create(
            model="odsc-llm", messages=MESSAGES, stream=True
        )
        assert [c.choices[0].delta.content async for c in stream] == ["ok"]
        embedded = await client.embeddings.create(model="odsc-llm", input="a")
        assert embedded.data[0].embedding == [0.5]
        assert [m.id async for m in client.models.list()] == ["odsc-llm"]
    recorder.check(signer, routing)


# ---- DeploymentAuth.prepare on its own ----------------------------------------------


def _prepared(url: str, routing: Any = "header", method: str = "POST", body: bytes = b"{}") -> Any:
    auth = DeploymentAuth(odsc_llm.auth.from_signer(_FakeSigner()), DEP, routing=routing)
    request = httpx.Request(method, url, content=body if method == "POST" else None)
    auth.prepare(request)
    return request


@pytest.mark.parametrize(
    ("url", "sent", "route"),
    [
        (f"{DEP}/predict/v1/completions", f"{DEP}/predict", "/v1/completions"),
        (f"{DEP}/predict/v1/x?a=1&b=%2F", f"{DEP}/predict", "/v1/x?a=1&b=%2F"),
        (f"{DEP}/predictWithResponseStream/v1/x", f"{DEP}/predictWithResponseStream", "/v1/x"),
        (f"{DEP}/predict", f"{DEP}/predict", None),  # no suffix: nothing to route
        (f"{DEP}/predict/", f"{DEP}/predict", None),
        (f"{DEP}/predictions/v1/x", f"{DEP}/predictions/v1/x", None),  # not /predict
    ],
)
def test_header_routing_rewrites(url: str, sent: str, route: str | None) -> None:
    request = _prepared(url)
    assert str(request.url) == sent
    assert request.headers.get("route") == route


def test_path_routing_keeps_the_path_and_sets_no_route() -> None:
    request = _prepared(f"{DEP}/predict/v1/x?a=1", routing="path")
    assert str(request.url) == f"{DEP}/predict/v1/x?a=1"
    assert "route" not in request.headers


def test_bodyless_requests_get_a_length_and_bodies_keep_theirs() -> None:
    for routing in ("header", "path"):
        get = _prepared(f"{DEP}/predict/v1/models", routing=routing, method="GET")
        assert get.headers["content-length"] == "0"
    post = _prepared(f"{DEP}/predict/v1/x", body=b'{"a": 1}')
    assert post.headers["content-length"] == "8"


def test_bad_routing_is_a_clear_error() -> None:
    auth = odsc_llm.auth.from_signer(_FakeSigner())
    for build in (openai_client, async_openai_client, http_client, async_http_client):
        with pytest.raises(InvalidRequestError, match="routing must be 'header'"):
            build(DEP, auth, routing="route")
    with pytest.raises(InvalidRequestError, match="routing must be 'header'"):
        base_url(DEP, routing="PATH")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="routing must be 'header'"):
        DeploymentAuth(auth, DEP, routing=None)  # type: ignore[arg-type]
    assert base_url(DEP, routing="path") == base_url(DEP) == f"{DEP}/predict/v1"


def test_an_http_client_of_another_routing_is_refused() -> None:
    auth = odsc_llm.auth.from_signer(_FakeSigner())
    with pytest.raises(InvalidRequestError, match=r"routing='path'.*routing='header'"):
        openai_client(DEP, auth, http_client=http_client(DEP, auth, routing="path"))
    with pytest.raises(InvalidRequestError, match=r"routing='header'.*routing='path'"):
        async_openai_client(DEP, auth, routing="path", http_client=async_http_client(DEP, auth))
    same = http_client(DEP, auth, routing="path")
    assert openai_client(DEP, auth, routing="path", http_client=same)._client is same


def test_repr_names_the_routing() -> None:
    auth = DeploymentAuth(odsc_llm.auth.from_signer(_FakeSigner()), DEP, routing="path")
    assert "routing='path'" in repr(auth)


def test_other_origins_are_still_refused_in_header_mode() -> None:
    with pytest.raises(AuthError, match="Refusing to sign"):
        _prepared(
            "https://evil.example.com/ocid1.datasciencemodeldeployment.oc1.iad.abc/predict/v1/x"
        )
