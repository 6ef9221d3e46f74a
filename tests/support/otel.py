"""OpenTelemetry's in-memory span and metric exporters, installed once per process
(the global providers can be set only once), for the tracing tests of both tiers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import odsc_llm
import odsc_llm._tracing

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

SPANS = InMemorySpanExporter()
METRICS = InMemoryMetricReader()
#: Our own providers, handed to odsc_llm (OpenTelemetry's global providers can be set
#: once per process, and another library in the test run may have taken them).
TRACER_PROVIDER = TracerProvider()
TRACER_PROVIDER.add_span_processor(SimpleSpanProcessor(SPANS))
METER_PROVIDER = MeterProvider(metric_readers=[METRICS])


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The exporter, emptied; odsc_llm traces into these providers for the test, and
    process-wide tracing is off again afterwards."""
    odsc_llm._tracing.use_providers(TRACER_PROVIDER, METER_PROVIDER)
    SPANS.clear()
    METRICS.collect()
    yield SPANS
    odsc_llm.uninstrument()
    odsc_llm._tracing.use_providers(None, None)


def metric_points(name: str) -> list[Any]:
    data = METRICS.get_metrics_data()
    points: list[Any] = []
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    points.extend(metric.data.data_points)
    return points


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    finished = exporter.get_finished_spans()
    assert len(finished) == 1, [s.name for s in finished]
    return finished[0]
