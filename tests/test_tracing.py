"""OpenTelemetry GenAI spans and metrics, with opentelemetry-sdk's in-memory exporters.

Every call goes to the local emulator over a real socket; each test runs on the sync
and the async client.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

import odsc_llm
from odsc_llm.testing import LocalDeployment

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.otel import TRACER_PROVIDER
from tests.support.otel import metric_points as _metric_points
from tests.support.otel import only_span as _only_span
from tests.support.otel import spans as spans  # the fixture


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, odsc_llm_local: LocalDeployment) -> Any:
    """``call(method, **kwargs)``: one API call on the sync or the async client, with the
    stream (if any) read to its end; returns the result (or the joined stream)."""
    import asyncio

    sync = request.param == "sync"

    def run(path: str, *, tracing: bool = True, consume: int | None = None, **kwargs: Any) -> Any:
        if sync:
            with odsc_llm_local.client(tracing=tracing, _sleep=lambda s: None) as client:
                target: Any = client
                for name in path.split("."):
                    target = getattr(target, name)
                result = target(**kwargs)
                if kwargs.get("stream"):
                    with result:
                        chunks = []
                        for chunk in result:
                            chunks.append(chunk)
                            if consume is not None and len(chunks) >= consume:
                                break
                    return chunks
                return result

        async def main() -> Any:
            async def no_sleep(seconds: float) -> None:
                pass

            async with odsc_llm_local.async_client(tracing=tracing, _sleep=no_sleep) as client:
                target: Any = client
                for name in path.split("."):
                    target = getattr(target, name)
                result = await target(**kwargs)
                if kwargs.get("stream"):
                    async with result:
                        chunks = []
                        async for chunk in result:
                            chunks.append(chunk)
                            if consume is not None and len(chunks) >= consume:
                                break
                    return chunks
                return result

        return asyncio.run(main())

    return run


def test_non_streamed_chat_span(spans: InMemorySpanExporter, call: Any) -> None:
    result = call(
        "chat.completions.create",
        messages=[{"role": "user", "content": "hello there"}],
        max_tokens=5,
        temperature=0.5,
        top_p=0.9,
        seed=7,
        stop=["zzz"],
    )
    span = _only_span(spans)
    a = span.attributes or {}
    assert span.name == "chat odsc-llm" and span.kind is SpanKind.CLIENT
    assert a["gen_ai.operation.name"] == "chat"
    assert a["openai.api.type"] == "chat_completions"
    assert a["gen_ai.provider.name"] == "oci.data_science"
    assert a["gen_ai.request.model"] == "odsc-llm"
    assert (a["gen_ai.request.max_tokens"], a["gen_ai.request.temperature"]) == (5, 0.5)
    assert (a["gen_ai.request.top_p"], a["gen_ai.request.seed"]) == (0.9, 7)
    assert tuple(a["gen_ai.request.stop_sequences"]) == ("zzz",)
    assert a["gen_ai.request.stream"] is False
    assert a["gen_ai.response.id"] == result.id
    assert a["gen_ai.response.model"] == result.model
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("stop",)
    assert a["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens
    assert a["gen_ai.usage.output_tokens"] == result.usage.completion_tokens
    assert a["oci.opc_request_id"] == result.request_id
    assert a["server.address"] == "127.0.0.1" and isinstance(a["server.port"], int)
    assert "ocid1.datasciencemodeldeployment" in str(a["oci.data_science.model_deployment.id"])
    assert "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a
    assert span.status.status_code is StatusCode.UNSET
    assert [e.name for e in span.events] == ["odsc_llm.attempt"]
    # metrics: the duration and both token counts, with the same attributes
    durations = _metric_points("gen_ai.client.operation.duration")
    assert durations and durations[-1].attributes["gen_ai.operation.name"] == "chat"
    tokens = {
        p.attributes["gen_ai.token.type"]: p for p in _metric_points("gen_ai.client.token.usage")
    }
    assert set(tokens) == {"input", "output"}


def test_streamed_completion_span_ends_at_done(spans: InMemorySpanExporter, call: Any) -> None:
    chunks = call(
        "completions.create",
        prompt="one two three",
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == "You said: one two three"
    span = _only_span(spans)
    a = span.attributes or {}
    assert span.name == "text_completion odsc-llm"
    assert "openai.api.type" not in a  # not an OpenAI API the conventions name
    assert a["gen_ai.request.stream"] is True
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("stop",)
    assert a["gen_ai.usage.output_tokens"] == 5
    assert a["gen_ai.response.time_to_first_chunk"] >= 0
    assert _metric_points("gen_ai.client.operation.time_to_first_chunk")


def test_streamed_span_has_every_choices_finish_reason_and_the_last_usage(
    spans: InMemorySpanExporter, call: Any
) -> None:
    """The span is summarised from the stream's ends and the finish reasons seen on the
    way (not by parsing every chunk again): two choices, usage in the last chunk."""
    chunks = call(
        "completions.create",
        prompt="one two three",
        n=2,
        max_tokens=2,
        stream=True,
        stream_options={"include_usage": True},
    )
    assert {c.choices[0].index for c in chunks if c.choices} == {0, 1}
    last = chunks[-1]
    assert last.usage is not None and not last.choices
    a = _only_span(spans).attributes or {}
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("length", "length")
    assert a["gen_ai.usage.output_tokens"] == last.usage.completion_tokens
    assert a["gen_ai.response.id"] == chunks[0].id


def test_retried_call_is_one_span_with_each_attempt(
    spans: InMemorySpanExporter, call: Any, odsc_llm_local: LocalDeployment
) -> None:
    odsc_llm_local.faults.push(status=503)
    call("completions.create", prompt="hi")
    span = _only_span(spans)
    attempts = [e for e in span.events if e.name == "odsc_llm.attempt"]
    assert len(attempts) == 2
    first, second = (dict(e.attributes or {}) for e in attempts)
    assert first["http.response.status_code"] == 503 and first["error.type"]
    assert first["oci.opc_request_id"] != second["oci.opc_request_id"]
    assert span.status.status_code is StatusCode.UNSET
    assert (span.attributes or {})["oci.opc_request_id"] == second["oci.opc_request_id"]


def test_failed_call_sets_error_type(
    spans: InMemorySpanExporter, call: Any, odsc_llm_local: LocalDeployment
) -> None:
    odsc_llm_local.faults.push(status=404, code="NotAuthorizedOrNotFound")
    with pytest.raises(odsc_llm.NotFoundError) as caught:
        call("completions.create", prompt="hi")
    span = _only_span(spans)
    a = span.attributes or {}
    assert a["error.type"] == "NotFoundError"
    assert a["oci.opc_request_id"] == caught.value.request_id
    assert span.status.status_code is StatusCode.ERROR
    failed = [p for p in _metric_points("gen_ai.client.operation.duration")
              if p.attributes.get("error.type") == "NotFoundError"]  # fmt: skip
    assert failed


#: A streamed call of each kind: its method and its prompt argument.
_STREAMED = {
    "completions": ("completions.create", "prompt"),
    "responses": ("responses.create", "input"),
}


@pytest.mark.parametrize("kind", sorted(_STREAMED))
def test_stream_closed_early_says_so(spans: InMemorySpanExporter, call: Any, kind: str) -> None:
    method, prompt = _STREAMED[kind]
    chunks = call(method, **{prompt: "a b c d e f g h"}, stream=True, consume=2)
    assert len(chunks) == 2
    span = _only_span(spans)
    assert tuple((span.attributes or {})["gen_ai.response.finish_reasons"]) == ("cancelled",)
    assert span.status.status_code is StatusCode.UNSET


@pytest.mark.parametrize(
    ("kind", "fault"),
    [("completions", "cut_before_done"), ("responses", "cut_before_done"),
     ("responses", "error_event")],
)  # fmt: skip
def test_broken_stream_is_an_error_span(
    spans: InMemorySpanExporter,
    call: Any,
    odsc_llm_local: LocalDeployment,
    kind: str,
    fault: str,
) -> None:
    method, prompt = _STREAMED[kind]
    odsc_llm_local.faults.push(**{fault: True})
    with pytest.raises(odsc_llm.StreamError):
        call(method, **{prompt: "a b c d"}, stream=True)
    span = _only_span(spans)
    assert (span.attributes or {})["error.type"] == "StreamError"
    assert span.status.status_code is StatusCode.ERROR


def test_content_is_captured_only_when_asked(
    spans: InMemorySpanExporter, call: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    call("chat.completions.create", messages=[{"role": "user", "content": "secret plan"}])
    a = _only_span(spans).attributes or {}
    assert json.loads(str(a["gen_ai.input.messages"])) == [
        {"role": "user", "content": "secret plan"}
    ]
    output = json.loads(str(a["gen_ai.output.messages"]))
    assert output == [{"role": "assistant", "content": "You said: secret plan"}]


# ---- the Responses API: a "chat" span with openai.api.type "responses" ------------------


def _chat_token_sums() -> dict[str, int]:
    """The ``gen_ai.client.token.usage`` sums of chat operations so far (cumulative)."""
    sums: dict[str, int] = {"input": 0, "output": 0}
    for point in _metric_points("gen_ai.client.token.usage"):
        if point.attributes["gen_ai.operation.name"] == "chat":
            sums[point.attributes["gen_ai.token.type"]] += point.sum
    return sums


def test_non_streamed_responses_span(spans: InMemorySpanExporter, call: Any) -> None:
    before = _chat_token_sums()
    result = call("responses.create", input="hello there", max_output_tokens=50, temperature=0.5)
    span = _only_span(spans)
    a = span.attributes or {}
    assert span.name == "chat odsc-llm" and span.kind is SpanKind.CLIENT
    assert a["gen_ai.operation.name"] == "chat"
    assert a["openai.api.type"] == "responses"
    assert (a["gen_ai.request.max_tokens"], a["gen_ai.request.temperature"]) == (50, 0.5)
    assert a["gen_ai.request.stream"] is False
    assert a["gen_ai.response.id"] == result.id and result.id.startswith("resp_")
    assert a["gen_ai.response.model"] == result.model
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("completed",)
    assert a["gen_ai.usage.input_tokens"] == result.usage.input_tokens > 0
    assert a["gen_ai.usage.output_tokens"] == result.usage.output_tokens > 0
    assert a["oci.opc_request_id"] == result.request_id
    assert "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a
    assert span.status.status_code is StatusCode.UNSET
    after = _chat_token_sums()
    assert after["input"] - before["input"] == result.usage.input_tokens
    assert after["output"] - before["output"] == result.usage.output_tokens


def test_responses_cut_at_max_output_tokens_finish_incomplete(
    spans: InMemorySpanExporter, call: Any
) -> None:
    result = call("responses.create", input="a b c d e f g h", max_output_tokens=2)
    assert result.status == "incomplete"
    a = _only_span(spans).attributes or {}
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("incomplete",)
    assert a["gen_ai.usage.output_tokens"] == 2


def test_streamed_responses_span_ends_at_response_completed(
    spans: InMemorySpanExporter, call: Any
) -> None:
    events = call("responses.create", input="one two three", stream=True)
    last = events[-1]
    assert last.type == "response.completed"
    span = _only_span(spans)
    a = span.attributes or {}
    assert span.name == "chat odsc-llm" and a["openai.api.type"] == "responses"
    assert a["gen_ai.request.stream"] is True
    assert a["gen_ai.response.id"] == last.response.id
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("completed",)
    assert a["gen_ai.usage.input_tokens"] == last.response.usage.input_tokens > 0
    assert a["gen_ai.usage.output_tokens"] == last.response.usage.output_tokens > 0
    assert a["gen_ai.response.time_to_first_chunk"] >= 0
    assert span.status.status_code is StatusCode.UNSET


@pytest.mark.parametrize("stream", [False, True])
def test_responses_content_is_captured_only_when_asked(
    spans: InMemorySpanExporter, call: Any, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    items = [{"role": "user", "content": "secret plan"}]
    call("responses.create", input=items, instructions="be brief", stream=stream)
    assert "gen_ai.input.messages" not in (_only_span(spans).attributes or {})
    spans.clear()
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    call("responses.create", input=items, instructions="be brief", stream=stream)
    a = _only_span(spans).attributes or {}
    assert json.loads(str(a["gen_ai.input.messages"])) == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "secret plan"},
    ]
    output = json.loads(str(a["gen_ai.output.messages"]))
    assert output == [{"role": "assistant", "content": "You said: secret plan"}]


def test_a_stored_responses_retrieve_is_not_traced(spans: InMemorySpanExporter, call: Any) -> None:
    created = call("responses.create", input="hi", tracing=False)
    call("responses.retrieve", response_id=created.id)
    assert spans.get_finished_spans() == ()


def test_embeddings_input_is_not_captured_as_messages(
    spans: InMemorySpanExporter, call: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    call("embeddings.create", input=["secret"])
    assert "gen_ai.input.messages" not in (_only_span(spans).attributes or {})


def test_instrument_turns_it_on_for_every_client(spans: InMemorySpanExporter, call: Any) -> None:
    call("embeddings.create", input=["a"], tracing=None)
    assert spans.get_finished_spans() == ()  # off by default
    odsc_llm.instrument()
    call("embeddings.create", input=["a"], tracing=None)
    assert _only_span(spans).name == "embeddings odsc-llm"
    odsc_llm.uninstrument()
    spans.clear()
    call("embeddings.create", input=["a"], tracing=None)
    assert spans.get_finished_spans() == ()


def test_tracing_false_wins_over_instrument(spans: InMemorySpanExporter, call: Any) -> None:
    odsc_llm.instrument()
    call("completions.create", prompt="x", tracing=False)
    assert spans.get_finished_spans() == ()


def test_spans_nest_under_the_callers_span(spans: InMemorySpanExporter, call: Any) -> None:
    tracer = TRACER_PROVIDER.get_tracer("test")  # the caller's own span, another library's
    with tracer.start_as_current_span("request handler") as outer:
        call("completions.create", prompt="x")
    child = next(s for s in spans.get_finished_spans() if s.name == "text_completion odsc-llm")
    assert child.parent is not None
    assert child.parent.span_id == outer.get_span_context().span_id


def test_off_means_opentelemetry_is_never_imported() -> None:
    code = (
        "import sys, odsc_llm\n"
        "from odsc_llm.testing import LocalDeployment\n"
        "with LocalDeployment() as local:\n"
        "    with local.client() as c:\n"
        "        c.completions.create(prompt='x')\n"
        "        for _ in c.completions.create(prompt='y', stream=True): pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_event_hooks_see_every_send_with_status_latency_and_request_id(
    odsc_llm_local: LocalDeployment,
) -> None:
    seen: list[tuple[str, int, str | None]] = []

    def on_response(response: Any) -> None:
        response.read()
        seen.append(
            (response.request.method, response.status_code, response.headers["opc-request-id"])
        )

    odsc_llm_local.faults.push(status=503)
    hooks = {"response": [on_response]}
    with odsc_llm_local.client(event_hooks=hooks, _sleep=lambda s: None) as client:
        raw = client.completions.with_raw_response.create(prompt="hi")
    assert [status for _, status, _ in seen] == [503, 200]  # retries included
    assert seen[-1][2] == raw.request_id and raw.elapsed > 0
    assert raw.headers["content-type"].startswith("application/json")


def test_event_hooks_are_checked() -> None:
    import httpx

    with pytest.raises(odsc_llm.InvalidRequestError, match="event_hooks"):
        odsc_llm.Client("http://127.0.0.1:1/ocid1.datasciencemodeldeployment.oc1.iad.x",
                        auth=httpx.Auth(), event_hooks={"reqest": []})  # fmt: skip
    with pytest.raises(odsc_llm.InvalidRequestError, match="http_client"):
        odsc_llm.Client("http://127.0.0.1:1/ocid1.datasciencemodeldeployment.oc1.iad.x",
                        auth=httpx.Auth(), http_client=httpx.Client(),
                        event_hooks={"request": []})  # fmt: skip


def test_instrument_takes_the_providers_to_use(spans: InMemorySpanExporter, call: Any) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    mine, reader = InMemorySpanExporter(), InMemoryMetricReader()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(mine))
    odsc_llm.instrument(tracer_provider=provider, meter_provider=MeterProvider([reader]))
    call("completions.create", prompt="x", tracing=None)
    assert [s.name for s in mine.get_finished_spans()] == ["text_completion odsc-llm"]
    assert spans.get_finished_spans() == ()  # not the providers in use before
    data = reader.get_metrics_data()
    names = {m.name for r in data.resource_metrics for sc in r.scope_metrics for m in sc.metrics}
    assert "gen_ai.client.operation.duration" in names
