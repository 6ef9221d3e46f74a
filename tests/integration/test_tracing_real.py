"""OpenTelemetry GenAI spans of real calls: the real clients, through the gateway, to a
real llama.cpp server (in-memory exporters of opentelemetry-sdk)."""

from __future__ import annotations

import pytest

import odsc_llm
from tests.integration.conftest import Gateway
from tests.integration.test_real_model import N_CTX, PROMPT
from tests.support.otel import metric_points, only_span
from tests.support.otel import spans as spans  # the fixture

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode


def _client(gateway: Gateway, **kwargs: object) -> odsc_llm.Client:
    return odsc_llm.Client(
        gateway.deployment, auth=gateway.auth, timeout=60.0, tracing=True, **kwargs
    )


def test_real_non_streamed_and_streamed(spans: InMemorySpanExporter, gateway: Gateway) -> None:
    with _client(gateway, max_retries=0) as client:
        plain = client.completions.create(prompt=PROMPT, max_tokens=6, temperature=0)
        a = only_span(spans).attributes or {}
        assert a["gen_ai.usage.output_tokens"] == plain.usage.completion_tokens == 6
        assert tuple(a["gen_ai.response.finish_reasons"]) == ("length",)
        assert a["gen_ai.response.model"] == plain.model  # the server's own model name
        assert a["oci.opc_request_id"] == plain.request_id
        spans.clear()
        text = "".join(
            client.completions.create(
                prompt=PROMPT, max_tokens=6, temperature=0, stream=True
            ).text()
        )
        span = only_span(spans)
        assert text == plain.choices[0].text
        assert tuple((span.attributes or {})["gen_ai.response.finish_reasons"]) == ("length",)
        assert (span.attributes or {})["gen_ai.response.time_to_first_chunk"] > 0
    assert metric_points("gen_ai.client.operation.time_to_first_chunk")


def test_real_retried_call(spans: InMemorySpanExporter, gateway: Gateway) -> None:
    gateway.local.faults.push(status=503)  # the gateway's 503, then the real answer
    with _client(gateway, max_retries=2, _sleep=lambda s: None) as client:
        client.completions.create(prompt=PROMPT, max_tokens=2, temperature=0)
    span = only_span(spans)
    statuses = [dict(e.attributes or {}).get("http.response.status_code") for e in span.events]
    assert statuses == [503, 200]
    assert span.status.status_code is StatusCode.UNSET


def test_real_failed_call(spans: InMemorySpanExporter, gateway: Gateway) -> None:
    with (
        _client(gateway, max_retries=0) as client,
        pytest.raises(odsc_llm.BadRequestError),
    ):
        client.completions.create(prompt="word " * (N_CTX + 200), max_tokens=4)
    span = only_span(spans)
    assert (span.attributes or {})["error.type"] == "BadRequestError"
    assert span.status.status_code is StatusCode.ERROR


def test_real_stream_closed_early(spans: InMemorySpanExporter, gateway: Gateway) -> None:
    with (
        _client(gateway, max_retries=0) as client,
        client.completions.create(
            prompt=PROMPT, max_tokens=40, temperature=0, stream=True
        ) as stream,
    ):
        next(iter(stream))
    span = only_span(spans)
    assert tuple((span.attributes or {})["gen_ai.response.finish_reasons"]) == ("cancelled",)
