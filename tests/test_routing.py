"""``Client(routing=...)``: how a call names its container path, on the wire.

``"header"`` (the default, every deployment): ``POST {endpoint}/predict`` (streams:
``/predictWithResponseStream``) with ``route: /v1/...``; the models listing is a GET to
``/predict`` with ``route: /v1/models`` and ``content-length: 0``. ``"path"`` (Multiple
Inference Endpoints only): ``{endpoint}/predict/v1/...``, no ``route`` header. The
emulator records each request as it arrived (path, headers) and verifies its signature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pytest_httpx import HTTPXMock

import odsc_llm
from odsc_llm._status_errors import make_status_error
from odsc_llm.errors import InvalidRequestError, NotFoundError
from odsc_llm.testing import LocalDeployment
from tests.support.clients import ENDPOINT, PREDICT, CountingAuth, Twin
from tests.support.otel import only_span
from tests.support.otel import spans as spans  # the fixture

SYNC = pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
MESSAGES = [{"role": "user", "content": "hi"}]


def _twin(local: LocalDeployment, sync: bool, **kwargs: Any) -> Twin:
    return Twin(sync, local.deployment, auth=local.auth, max_retries=0, **kwargs)


def _every_call(twin: Twin) -> None:
    """One call of each kind: plain, streamed, embeddings and the models listing (a GET).
    (The vLLM utilities' path form, /predict/tokenize, is checked with pytest-httpx
    below: the emulator routes only /predict/v1/... paths.)"""
    twin.call("completions.create", prompt="x", max_tokens=2)
    twin.stream("chat.completions.create", messages=MESSAGES, max_tokens=2)
    twin.call("embeddings.create", input=["a"])
    twin.call("models.list")


def _seen(local: LocalDeployment) -> list[tuple[str, str, str | None]]:
    """(method, path after the OCID, route header) of each request, all answered 200."""
    requests = local.requests
    assert [r.status for r in requests] == [200] * len(requests)  # signatures verified
    prefix = f"/{local.ocid}"
    return [(r.method, r.path.removeprefix(prefix), r.headers.get("route")) for r in requests]


@SYNC
def test_header_routing_is_the_default_and_sends_the_route_header(
    emulator: LocalDeployment, sync: bool
) -> None:
    twin = _twin(emulator, sync)
    try:
        assert twin.client.routing == "header"
        _every_call(twin)
    finally:
        twin.close()
    assert _seen(emulator) == [
        ("POST", "/predict", "/v1/completions"),
        ("POST", "/predictWithResponseStream", "/v1/chat/completions"),
        ("POST", "/predict", "/v1/embeddings"),
        ("GET", "/predict", "/v1/models"),
    ]
    get = emulator.requests[3]
    assert get.body == b"" and get.headers["content-length"] == "0"  # else the service: 411


@SYNC
def test_path_routing_puts_the_route_in_the_url_and_sends_no_route_header(
    mie_emulator: LocalDeployment, sync: bool
) -> None:
    twin = _twin(mie_emulator, sync, routing="path")
    try:
        assert twin.client.routing == "path"
        _every_call(twin)
    finally:
        twin.close()
    assert _seen(mie_emulator) == [
        ("POST", "/predict/v1/completions", None),
        ("POST", "/predictWithResponseStream/v1/chat/completions", None),
        ("POST", "/predict/v1/embeddings", None),
        ("GET", "/predict/v1/models", None),
    ]
    assert mie_emulator.requests[3].headers["content-length"] == "0"


@SYNC
@pytest.mark.parametrize(
    ("routing", "url", "route"),
    [("header", PREDICT, "/tokenize"), ("path", PREDICT + "/tokenize", None)],
)
def test_the_vllm_utilities_follow_the_routing(
    httpx_mock: HTTPXMock, sync: bool, routing: str, url: str, route: str | None
) -> None:
    httpx_mock.add_response(url=url, json={"count": 1, "max_model_len": 8, "tokens": [1]})
    twin = Twin(sync, ENDPOINT, auth=CountingAuth(), routing=routing)
    try:
        assert twin.run(twin.client.tokenize(prompt="x")).count == 1
    finally:
        twin.close()
    (request,) = httpx_mock.get_requests()
    assert request.url == url and request.headers.get("route") == route


@SYNC
@pytest.mark.parametrize(
    ("routing", "expected"),
    [("header", ("/predict", "/v1/completions")), ("path", ("/predict/v1/completions", None))],
)
def test_streams_on_predict_follow_the_routing(
    emulator_for: Callable[[str], LocalDeployment],
    sync: bool,
    routing: str,
    expected: tuple[str, str | None],
) -> None:
    emulator = emulator_for(routing)
    twin = _twin(emulator, sync, routing=routing, stream_endpoint="predict")
    try:
        assert twin.stream(prompt="x", max_tokens=2)
    finally:
        twin.close()
    assert _seen(emulator) == [("POST", *expected)]


@SYNC
def test_copies_keep_the_routing_unless_told_otherwise(
    mie_emulator: LocalDeployment, sync: bool
) -> None:
    twin = _twin(mie_emulator, sync, routing="path")
    try:
        copy = twin.client.with_options(max_retries=1)
        assert copy.routing == "path" and twin.client.copy().routing == "path"
        back = twin.client.copy(routing="header")
        assert back.routing == "header"
        twin.run(copy.models.list())
        twin.run(back.models.list())
    finally:
        twin.close()
    assert _seen(mie_emulator) == [
        ("GET", "/predict/v1/models", None),
        ("GET", "/predict", "/v1/models"),
    ]


def test_the_sync_batch_twin_keeps_the_routing(mie_emulator: LocalDeployment) -> None:
    with mie_emulator.client(routing="path") as client:
        result = client.completions.batch(["a", "b"], max_tokens=2)
    assert result.ok and len(result.results) == 2
    assert {path for _, path, _ in _seen(mie_emulator)} == {"/predict/v1/completions"}


def test_routing_is_read_only(emulator: LocalDeployment) -> None:
    with emulator.client() as client, pytest.raises(AttributeError):
        client.routing = "path"  # type: ignore[misc]


@SYNC
@pytest.mark.parametrize("bad", ["paths", "HEADER", "", None, 1])
def test_an_unknown_routing_is_a_typed_error_naming_both(
    emulator: LocalDeployment, sync: bool, bad: object
) -> None:
    cls = odsc_llm.Client if sync else odsc_llm.AsyncClient
    with pytest.raises(InvalidRequestError, match=r"'header'.*'path'.*Multiple Inference"):
        cls(emulator.deployment, auth=emulator.auth, routing=bad)  # type: ignore[arg-type]
    with emulator.client() as client, pytest.raises(InvalidRequestError, match="routing must"):
        client.copy(routing=bad)


@SYNC
def test_a_404_to_the_path_form_names_the_routing_fix(
    emulator: LocalDeployment, sync: bool
) -> None:
    """The service answers an unrouted path (a classic deployment) with its 404
    ``NotAuthorizedOrNotFound``: the hint says to use header routing or enable MIE."""
    twin = _twin(emulator, sync, routing="path")  # on a classic emulator, as the service
    try:
        with pytest.raises(NotFoundError) as info:
            twin.call("models.list")
    finally:
        twin.close()
    message = info.value.message
    assert info.value.code == "NotAuthorizedOrNotFound"
    assert "(/predict/v1/models: routing='path')" in message
    assert "Use routing='header'" in message
    assert "enable Multiple Inference Endpoints" in message and "/v1/models" in message
    assert message.count("Hint: ") == 1


@SYNC
def test_a_404_to_the_header_form_keeps_the_deployment_hint(
    emulator: LocalDeployment, sync: bool
) -> None:
    emulator.faults.push(status=404)
    twin = _twin(emulator, sync)
    try:
        with pytest.raises(NotFoundError) as info:
            twin.call("chat.completions.create", messages=MESSAGES)
    finally:
        twin.close()
    message = info.value.message
    assert "Either no deployment exists at this URL" in message
    assert "routing" not in message


@SYNC
def test_a_vllm_404_on_the_path_form_is_not_a_routing_problem(
    mie_emulator: LocalDeployment, sync: bool
) -> None:
    """vLLM's 404 (the path was routed; the model name is wrong) keeps its own hint."""
    twin = _twin(mie_emulator, sync, routing="path")
    try:
        with pytest.raises(NotFoundError) as info:
            twin.call("completions.create", prompt="x", model="gpt-4")
    finally:
        twin.close()
    assert "model 'gpt-4' is not served here" in info.value.message
    assert "routing" not in info.value.message


@SYNC
@pytest.mark.parametrize("routing", ["header", "path"])
def test_spans_are_named_by_the_route_in_both_modes(
    emulator_for: Callable[[str], LocalDeployment],
    spans: InMemorySpanExporter,
    sync: bool,
    routing: str,
) -> None:
    emulator = emulator_for(routing)
    twin = _twin(emulator, sync, routing=routing, tracing=True)
    try:
        twin.call("chat.completions.create", messages=MESSAGES, max_tokens=2)
    finally:
        twin.close()
    span = only_span(spans)
    assert span.name == "chat odsc-llm"
    assert (span.attributes or {})["gen_ai.operation.name"] == "chat"


OCI_404 = {
    "code": "NotAuthorizedOrNotFound",
    "message": "Authorization failed or requested resource not found.",
}


@pytest.mark.parametrize(
    ("path", "routing_hint"),
    [
        ("/predict/v1/models", True),
        ("/predictWithResponseStream/v1/chat/completions", True),
        ("/predict", False),
        ("/predictWithResponseStream", False),
    ],
)
def test_which_404s_get_the_routing_hint(path: str, routing_hint: bool) -> None:
    request = httpx.Request("POST", ENDPOINT + path)
    error = make_status_error(httpx.Response(404, json=OCI_404, request=request))
    assert ("Use routing='header'" in error.message) is routing_hint
    assert ("Either no deployment exists" in error.message) is not routing_hint
    if routing_hint:
        assert f"({path}: routing='path')" in error.message


def test_a_404_without_its_request_keeps_the_deployment_hint() -> None:
    error = make_status_error(httpx.Response(404, json=OCI_404))
    assert "Either no deployment exists" in error.message
