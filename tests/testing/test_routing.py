"""The emulator routes as strictly as the service: a classic deployment only by the
``route`` header, an MIE one also by the path form (its allowlist), custom endpoints for
their methods; anything else the service's 404 ``NotAuthorizedOrNotFound``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytest.importorskip("uvicorn")

from odsc_llm import InvalidRequestError
from odsc_llm._constants import (
    MIE_MAX_CUSTOM_ENDPOINTS,
    MIE_OPENAI_SUFFIXES,
    MIE_PREFIX_SUFFIXES,
)
from odsc_llm.testing import LocalDeployment, embed
from tests.support.deployments import DeploymentKind, routed_request

NOT_ROUTED = {
    "code": "NotAuthorizedOrNotFound",
    "message": "Authorization failed or requested resource not found.",
}
CHAT = {"messages": [{"role": "user", "content": "hi"}]}


def _send(local: LocalDeployment, request: httpx.Request) -> httpx.Response:
    with httpx.Client(auth=local.auth, timeout=10) as http:
        return http.send(request)


# ---- the fitting routing works on each kind (the deployment_kind fixture) -------------


def test_the_fitting_routing_reaches_every_api(deployment_kind: DeploymentKind) -> None:
    kind, local = deployment_kind, deployment_kind.local
    assert kind.routing == {"classic": "header", "mie": "path"}[kind.name]
    assert kind.client_kwargs == {
        "deployment": local.deployment,
        "auth": local.auth,
        "routing": kind.routing,
    }
    chat = _send(local, kind.request("POST", "/v1/chat/completions", json=CHAT))
    assert chat.json()["choices"][0]["message"]["content"] == "You said: hi"
    completion = _send(local, kind.request("POST", "/v1/completions", json={"prompt": "p"}))
    assert completion.json()["choices"][0]["text"] == "You said: p"
    vectors = _send(local, kind.request("POST", "/v1/embeddings", json={"input": "e"}))
    assert vectors.json()["data"][0]["embedding"] == embed("e")
    models = _send(local, kind.request("GET", "/v1/models"))
    assert [m["id"] for m in models.json()["data"]] == ["odsc-llm"]
    tokens = _send(local, kind.request("POST", "/tokenize", json={"prompt": "a b"}))
    assert tokens.json()["count"] == 2
    stream = kind.request(
        "POST", "/v1/chat/completions", json={**CHAT, "stream": True}, stream=True
    )
    streamed = _send(local, stream)
    assert streamed.status_code == 200 and streamed.text.endswith("data: [DONE]\n\n")
    # Every one of them was signed and verified (a bad signature is a 401 first).
    assert [r.status for r in local.requests] == [200] * 6


def test_header_routing_works_on_every_kind(deployment_kind: DeploymentKind) -> None:
    local = deployment_kind.local
    request = deployment_kind.request("GET", "/v1/models", routing="header")
    assert _send(local, request).status_code == 200
    chat = deployment_kind.request("POST", "/v1/chat/completions", json=CHAT, routing="header")
    assert _send(local, chat).json()["choices"][0]["message"]["content"] == "You said: hi"


# ---- classic: the path form is not routed ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "route", "stream"),
    [
        ("POST", "/v1/chat/completions", False),
        ("POST", "/v1/chat/completions", True),
        ("GET", "/v1/models", False),
        ("POST", "/tokenize", False),
        ("POST", "/anything/else", False),
    ],
)
def test_classic_answers_the_path_form_with_the_services_404(
    odsc_llm_local: LocalDeployment, method: str, route: str, stream: bool
) -> None:
    local = odsc_llm_local
    assert local.api_specification is None and local.routing == "header"
    local.faults.push(status=500)
    body = {**CHAT, "stream": True} if stream else (None if method == "GET" else CHAT)
    response = _send(local, routed_request(local, "path", method, route, body, stream))
    assert response.status_code == 404
    assert response.json() == NOT_ROUTED
    assert response.headers["opc-request-id"]
    # Refused before the container: the queued fault is still there for the next call.
    assert len(local.faults) == 1


def test_classic_still_routes_a_trailing_slash_and_the_body_shape(
    odsc_llm_local: LocalDeployment,
) -> None:
    local = odsc_llm_local
    request = httpx.Request("POST", local.deployment.predict_url + "/", json=CHAT)
    assert _send(local, request).json()["choices"][0]["message"]["content"] == "You said: hi"


# ---- MIE: the OpenAI allowlist, nothing more -----------------------------------------------


@pytest.fixture(scope="module")
def mie() -> Iterator[LocalDeployment]:
    with LocalDeployment(api_specification="openai") as local:
        yield local


@pytest.mark.parametrize("suffix", MIE_OPENAI_SUFFIXES)
def test_mie_routes_every_openai_suffix(mie: LocalDeployment, suffix: str) -> None:
    for stream in (False, True):
        response = _send(mie, routed_request(mie, "path", "POST", suffix, {"x": 1}, stream))
        # Routed to the container: whatever it answers, not the service's refusal.
        assert response.json() != NOT_ROUTED, (suffix, stream)


@pytest.mark.parametrize("prefix", MIE_PREFIX_SUFFIXES)
def test_mie_routes_sub_paths_of_the_prefix_suffixes(mie: LocalDeployment, prefix: str) -> None:
    response = _send(mie, routed_request(mie, "path", "GET", prefix + "/resp_1/input_items"))
    assert response.json() != NOT_ROUTED


@pytest.mark.parametrize(
    "suffix",
    ["/v1/nope", "/v1/chat", "/v1/chat/completionsX", "/v1/models/extra", "/v2/embeddings", "/x"],
)
def test_mie_refuses_other_suffixes_like_the_service(mie: LocalDeployment, suffix: str) -> None:
    response = _send(mie, routed_request(mie, "path", "POST", suffix, CHAT))
    assert (response.status_code, response.json()) == (404, NOT_ROUTED)


def test_mie_reports_its_spec_on_the_control_plane(mie: LocalDeployment) -> None:
    with LocalDeployment() as classic:
        assert "predictApiSpecification" not in _environment(classic)
        assert "customHttpEndpoints" not in _environment(classic)
    assert mie.routing == "path"
    assert _environment(mie)["predictApiSpecification"] == "openai"


def test_what_the_control_plane_reports_is_what_is_routed(
    odsc_llm_local: LocalDeployment,
) -> None:
    local, plane = odsc_llm_local, odsc_llm_local.control_plane

    def routed(method: str, suffix: str) -> bool:
        body = None if method == "GET" else CHAT
        response = _send(local, routed_request(local, "path", method, suffix, body))
        return response.json() != NOT_ROUTED

    try:
        plane.predict_api_specification = "openai"  # as after updating the deployment
        assert local.routing == "path" and local.api_specification == "openai"
        assert routed("POST", "/v1/chat/completions") and not routed("POST", "/v1/other")
        assert _environment(local)["predictApiSpecification"] == "openai"
        plane.predict_api_specification = "OpenAI"  # not a value the service takes
        assert not routed("POST", "/v1/chat/completions")
        plane.predict_api_specification = None
        plane.custom_http_endpoints = [("/v1/items/{}", ["get"])]
        assert local.custom_endpoints == [("/v1/items/{}", ("GET",))]
        assert routed("GET", "/v1/items/1") and not routed("POST", "/v1/items/1")
    finally:
        plane.predict_api_specification, plane.custom_http_endpoints = None, []
    assert not routed("GET", "/v1/items/1") and local.routing == "header"


def _environment(local: LocalDeployment) -> dict[str, Any]:
    url = f"{local.base_url}/20190101/modelDeployments/{local.ocid}"
    response = _send(local, httpx.Request("GET", url))
    details = response.json()["modelDeploymentConfigurationDetails"]
    environment: dict[str, Any] = details["environmentConfigurationDetails"]
    return environment


# ---- custom endpoints, through the gateway (the upstream shows what was forwarded) -------


@pytest.fixture(scope="module")
def upstream() -> Iterator[LocalDeployment]:
    with LocalDeployment(verify_signatures=False) as local:
        yield local


def test_custom_endpoints_route_their_suffixes_for_their_methods(
    upstream: LocalDeployment,
) -> None:
    upstream.clear_requests()
    endpoints = [("/v1/items/{}", ["GET"]), ("/score", ["post", "PUT"])]
    with LocalDeployment(upstream=upstream.base_url, custom_endpoints=endpoints) as local:
        assert local.custom_endpoints == [("/v1/items/{}", ("GET",)), ("/score", ("POST", "PUT"))]
        assert local.api_specification is None and local.routing == "header"

        def forwarded(method: str, suffix: str, body: Any = None) -> bool:
            seen = len(upstream.requests)
            response = _send(local, routed_request(local, "path", method, suffix, body))
            if len(upstream.requests) == seen:
                assert (response.status_code, response.json()) == (404, NOT_ROUTED)
            return len(upstream.requests) > seen

        assert forwarded("GET", "/v1/items/42")
        assert forwarded("POST", "/score", {"x": 1})
        assert forwarded("PUT", "/score", {"x": 1})
        assert not forwarded("POST", "/v1/items/42", {"x": 1})  # GET only
        assert not forwarded("GET", "/v1/items/42/more")  # {} is one segment
        assert not forwarded("GET", "/v1/items")
        assert not forwarded("POST", "/v1/chat/completions", CHAT)  # no OpenAI spec
        environment = _environment(local)
    assert [r.path for r in upstream.requests] == ["/v1/items/42", "/score", "/score"]
    assert environment["customHttpEndpoints"] == [
        {"endpointUriSuffix": "/v1/items/{}", "httpMethods": ["GET"]},
        {"endpointUriSuffix": "/score", "httpMethods": ["POST", "PUT"]},
    ]
    assert "predictApiSpecification" not in environment


def test_an_mie_gateway_forwards_the_path_form_to_the_same_path(
    upstream: LocalDeployment,
) -> None:
    upstream.clear_requests()
    with LocalDeployment(upstream=upstream.base_url, api_specification="openai") as local:
        _send(local, routed_request(local, "path", "POST", "/v1/chat/completions", CHAT))
        refused = _send(local, routed_request(local, "path", "POST", "/v1/other", CHAT))
        assert refused.json() == NOT_ROUTED
    assert [r.path for r in upstream.requests] == ["/v1/chat/completions"]


# ---- bad arguments -----------------------------------------------------------------------


def _too_many() -> list[tuple[str, list[str]]]:
    return [(f"/e{i}", ["POST"]) for i in range(MIE_MAX_CUSTOM_ENDPOINTS + 1)]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"api_specification": "OpenAI"}, "api_specification must be None"),
        ({"api_specification": "anthropic"}, "'openai'"),
        ({"custom_endpoints": "/score"}, "(suffix, methods) pairs"),
        ({"custom_endpoints": [("/score",)]}, "(suffix, methods) pair"),
        ({"custom_endpoints": [("score", ["POST"])]}, "starting with '/'"),
        ({"custom_endpoints": [("/", ["POST"])]}, "starting with '/'"),
        ({"custom_endpoints": [("/a//b", ["POST"])]}, "bad segment ''"),
        ({"custom_endpoints": [("/a/{id}", ["POST"])]}, "bad segment '{id}'"),
        ({"custom_endpoints": [("/a?b=1", ["POST"])]}, "bad segment"),
        ({"custom_endpoints": [("/a/..", ["POST"])]}, "bad segment '..'"),
        ({"custom_endpoints": [("/a", "POST")]}, "are a list such as ['POST']"),
        ({"custom_endpoints": [("/a", [])]}, "must be some of GET, POST"),
        ({"custom_endpoints": [("/a", ["FETCH"])]}, "must be some of GET, POST"),
        ({"custom_endpoints": [("/a", ["GET"]), ("/a", ["POST"])]}, "declared twice"),
        (
            {
                "custom_endpoints": [
                    (f"/e{i}", ["POST"]) for i in range(MIE_MAX_CUSTOM_ENDPOINTS + 1)
                ]
            },
            f"at most {MIE_MAX_CUSTOM_ENDPOINTS}",
        ),
    ],
)
def test_bad_routing_arguments_are_typed_errors_that_say_why(
    kwargs: dict[str, Any], words: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        LocalDeployment(**kwargs)
    assert words in str(info.value)


def test_the_most_custom_endpoints_a_deployment_may_declare_are_accepted() -> None:
    endpoints = [(f"/e{i}", ["POST"]) for i in range(MIE_MAX_CUSTOM_ENDPOINTS)]
    assert len(LocalDeployment(custom_endpoints=endpoints).custom_endpoints) == 15


def test_the_emulator_and_the_client_state_the_same_allowlist() -> None:
    """Each states the service's MIE allowlist on its own (the emulator imports no
    client constant, so the two cannot be wrong together); they must agree."""
    from odsc_llm import _constants as client
    from odsc_llm.testing import _mie as emulator

    assert emulator.OPENAI_SUFFIXES == client.MIE_OPENAI_SUFFIXES
    assert emulator.PREFIX_SUFFIXES == client.MIE_PREFIX_SUFFIXES
    assert emulator.MAX_CUSTOM_ENDPOINTS == client.MIE_MAX_CUSTOM_ENDPOINTS
