"""The upstream request the proxy builds, per routing (no network)."""

from __future__ import annotations

import httpx
import pytest

from odsc_llm.deployment import Deployment
from odsc_llm.proxy import Target
from odsc_llm.proxy._forward import Upstream, build_request

URL = "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.datasciencemodeldeployment.oc1.iad.x"


def _target(routing: str) -> Target:
    return Target(Deployment.from_url(URL), "odsc-llm", httpx.BasicAuth("a", "b"), routing)


@pytest.mark.parametrize(
    ("routing", "route", "stream", "url", "header"),
    [
        ("header", "/v1/chat/completions", False, "/predict", "/v1/chat/completions"),
        ("header", "/v1/messages", True, "/predictWithResponseStream", "/v1/messages"),
        (
            "path",
            "/v1/chat/completions",
            True,
            "/predictWithResponseStream/v1/chat/completions",
            None,
        ),
        ("path", "/v1/messages", False, "/predict/v1/messages", None),
        # Not on an MIE deployment's allowlist: the header form, which every deployment routes.
        ("path", "/v1/messages/count_tokens", False, "/predict", "/v1/messages/count_tokens"),
    ],
)
def test_routing(routing: str, route: str, stream: bool, url: str, header: str | None) -> None:
    client = httpx.AsyncClient()
    request = build_request(
        client, _target(routing), "POST", route, b"{}", "application/json", stream
    )
    assert str(request.url) == URL + url
    assert request.headers.get("route") == header
    assert (request.headers.get("enable-streaming"), request.headers.get("accept")) == (
        ("true", "text/event-stream") if stream else (None, request.headers.get("accept"))
    )
    assert "authorization" not in request.headers and "x-api-key" not in request.headers


def test_get_carries_content_length_0() -> None:
    request = build_request(
        httpx.AsyncClient(), _target("header"), "GET", "/v1/models", b"", None, False
    )
    assert request.method == "GET" and request.headers["content-length"] == "0"


def test_least_in_flight_first_and_ties_rotate() -> None:
    upstream = Upstream()
    a, b, c = _target("header"), _target("header"), _target("header")
    firsts = [upstream.order([a, b, c])[0] for _ in range(3)]
    assert {id(t) for t in firsts} == {id(a), id(b), id(c)}  # idle ones take turns
    a.in_flight, b.in_flight, c.in_flight = 2, 0, 1
    assert upstream.order([a, b, c]) == [b, c, a]
