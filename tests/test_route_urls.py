"""``RouteURLs``: where each call of a client goes, per routing mode and stream endpoint."""

from __future__ import annotations

from odsc_llm import _constants as C
from odsc_llm._route_urls import RouteURLs
from odsc_llm.deployment import Deployment

_DEP = Deployment.coerce(
    "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.datasciencemodeldeployment.oc1.iad.x"
)


def test_header_mode_sends_every_route_to_the_endpoint_itself() -> None:
    urls = RouteURLs(_DEP, C.DEFAULT_STREAM_ENDPOINT, "header")
    assert str(urls.url("/v1/chat/completions", False)) == _DEP.predict_url
    assert str(urls.url("/v1/chat/completions", True)) == _DEP.stream_url
    assert len(urls) == 0


def test_path_mode_appends_the_route_and_parses_it_once() -> None:
    urls = RouteURLs(_DEP, C.DEFAULT_STREAM_ENDPOINT, "path")
    first = urls.url("/v1/chat/completions", False)
    assert str(first) == _DEP.predict_url + "/v1/chat/completions"
    assert urls.url("/v1/chat/completions", False) is first
    assert str(urls.url("/v1/chat/completions", True)) == _DEP.stream_url + "/v1/chat/completions"


def test_streams_on_predict_when_the_stream_endpoint_is_predict() -> None:
    urls = RouteURLs(_DEP, "predict", "path")
    assert str(urls.url("/v1/responses", True)) == _DEP.predict_url + "/v1/responses"


def test_path_mode_keeps_a_bounded_number_of_urls() -> None:
    urls = RouteURLs(_DEP, C.DEFAULT_STREAM_ENDPOINT, "path")
    for n in range(C.MAX_CACHED_ROUTE_URLS + 5):
        assert str(urls.url(f"/v1/responses/resp_{n}", False)).endswith(f"/resp_{n}")
    assert len(urls) == C.MAX_CACHED_ROUTE_URLS
