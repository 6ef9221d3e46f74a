"""``create_app(tracing=True)``: one odsc_llm span per forwarded GenAI call."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("opentelemetry.sdk")

import openai
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from odsc_llm.proxy import create_app
from odsc_llm.testing import LocalDeployment

from ..support.otel import only_span
from ..support.otel import spans as spans  # the fixture
from ..support.proxy import running

CHAT = [{"role": "user", "content": "traced"}]


def _one(spans: InMemorySpanExporter) -> ReadableSpan:
    # The proxy ends its span just after the answer's last byte: the caller may be first.
    deadline = time.monotonic() + 5
    while not spans.get_finished_spans() and time.monotonic() < deadline:
        time.sleep(0.01)
    return only_span(spans)


def test_spans_of_whole_and_streamed_answers(
    spans: InMemorySpanExporter, local: LocalDeployment
) -> None:
    with running(create_app(local.url, auth=local.auth, tracing=True)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="-", max_retries=0)
        client.chat.completions.create(model="my-model", messages=CHAT)
        span = _one(spans)
        assert span.name == "chat my-model" and span.kind == SpanKind.CLIENT
        attributes = dict(span.attributes or {})
        assert attributes["oci.data_science.model_deployment.id"] == local.ocid
        assert attributes["oci.opc_request_id"] == local.requests[0].request_id
        spans.clear()
        list(client.chat.completions.create(model="m", messages=CHAT, stream=True))
        streamed = _one(spans)
        assert "gen_ai.response.time_to_first_chunk" in dict(streamed.attributes or {})
        spans.clear()
        local.faults.push(status=503)
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="m", messages=CHAT)
        assert _one(spans).status.status_code == StatusCode.ERROR


def test_no_spans_without_tracing(
    spans: InMemorySpanExporter, proxy_url: str, local: LocalDeployment
) -> None:
    client = openai.OpenAI(base_url=f"{proxy_url}/v1", api_key="test-proxy-key")
    client.chat.completions.create(model="m", messages=CHAT)
    time.sleep(0.2)  # as long as a span would take to end
    assert spans.get_finished_spans() == ()
