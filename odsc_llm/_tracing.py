"""Optional OpenTelemetry GenAI traces and metrics: zero cost when off.

Tracing is on for a client made with ``tracing=True``, or for every client after
:func:`instrument` (or with ``OTEL_INSTRUMENTATION_ODSC_LLM_ENABLED=true``). Until then
``opentelemetry`` is never imported: the client asks :func:`tracer_for` once per call
and gets ``None``.

One CLIENT span per logical call, named ``"{gen_ai.operation.name} {gen_ai.request.model}"``
(the OpenTelemetry GenAI semantic conventions), with every attempt (retries) as a span
event. A stream's span ends when the stream does: at ``[DONE]`` (a Responses stream: at
``response.completed``), on an error, or when the caller closes it early (then
``gen_ai.response.finish_reasons`` is ``["cancelled"]``).
Prompt and answer text are recorded only when
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _constants as C

if TYPE_CHECKING:
    from .deployment import Deployment

__all__ = [
    "CallSpan",
    "Tracer",
    "instrument",
    "is_instrumented",
    "tracer_for",
    "uninstrument",
    "use_providers",
]

ENV_ENABLED = "OTEL_INSTRUMENTATION_ODSC_LLM_ENABLED"
ENV_CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
PROVIDER_NAME = "oci.data_science"
INSTRUMENTATION_NAME = "odsc_llm"
#: The route header of each call -> its ``gen_ai.operation.name``. Other routes
#: (tokenize, models, a stored response's ``/v1/responses/{id}``...) are not GenAI
#: operations and are not traced. A Responses call is a ``chat`` (the OpenAI conventions,
#: https://opentelemetry.io/docs/specs/semconv/gen-ai/openai/: "chat" for both APIs, told
#: apart by ``openai.api.type``).
OPERATIONS: Mapping[str, str] = {
    C.ROUTE_CHAT_COMPLETIONS: "chat",
    C.ROUTE_COMPLETIONS: "text_completion",
    C.ROUTE_EMBEDDINGS: "embeddings",
    C.ROUTE_RESPONSES: "chat",
}
#: The routes of an OpenAI API -> its ``openai.api.type`` (the conventions' well-known
#: values: "chat_completions", "responses"; the registry's ``openai.api.type``).
API_TYPES: Mapping[str, str] = {
    C.ROUTE_CHAT_COMPLETIONS: "chat_completions",
    C.ROUTE_RESPONSES: "responses",
}
#: Request body fields -> span attributes (GenAI semantic conventions).
_REQUEST_ATTRIBUTES = {
    "max_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",  # the Responses API's name
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "seed": "gen_ai.request.seed",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
}
#: The finish reason recorded for a stream the caller closed before its end.
CANCELLED = "cancelled"
#: Histogram buckets the GenAI conventions advise (seconds; tokens).
_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
                     20.48, 40.96, 81.92)  # fmt: skip
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                  16777216, 67108864)  # fmt: skip

_instrumented = False
_shared: Tracer | None = None
#: The providers spans and metrics go to (None: OpenTelemetry's global ones).
_providers: tuple[Any, Any] = (None, None)


def _tracer() -> Tracer:
    """The one Tracer of the process (its instruments are created once per providers)."""
    global _shared
    if _shared is None:
        _shared = Tracer(*_providers)
    return _shared


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def use_providers(tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Send odsc_llm's spans and metrics to these providers (None: the global ones)."""
    global _providers, _shared
    _providers = (tracer_provider, meter_provider)
    _shared = None


def instrument(*, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Trace every odsc_llm client of this process (clients already made, too).

    Spans and metrics go to OpenTelemetry's global providers, or to the ones given here
    (as other OpenTelemetry instrumentations take them).
    """
    global _instrumented
    if tracer_provider is not None or meter_provider is not None:
        use_providers(tracer_provider, meter_provider)
    _instrumented = True


def uninstrument() -> None:
    """Undo :func:`instrument` (clients made with ``tracing=True`` keep tracing)."""
    global _instrumented
    _instrumented = False


def is_instrumented() -> bool:
    """Whether :func:`instrument` (or the environment variable) turned tracing on."""
    return _instrumented


def client_tracing(tracing: bool | None) -> None:
    """A new client's ``tracing``: with ``None`` (the default) the environment variable
    may turn on process-wide tracing."""
    if tracing is None and _env_true(ENV_ENABLED):
        instrument()


def tracer_for(own: bool) -> Tracer | None:
    """The tracer of one call: with the client's own tracing or process-wide tracing on,
    the Tracer; else None (and no opentelemetry import)."""
    return _tracer() if own or _instrumented else None


class Tracer:
    """Holds the OpenTelemetry tracer and instruments (of the given or global providers)."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        from opentelemetry import metrics, trace

        from ._version import __version__

        self._trace = trace
        self.tracer = trace.get_tracer(
            INSTRUMENTATION_NAME, __version__, tracer_provider=tracer_provider
        )
        meter = metrics.get_meter(INSTRUMENTATION_NAME, __version__, meter_provider=meter_provider)
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=list(_DURATION_BUCKETS),
        )
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Measures number of input and output tokens used",
            explicit_bucket_boundaries_advisory=list(_TOKEN_BUCKETS),
        )
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk of a streamed answer",
            explicit_bucket_boundaries_advisory=list(_DURATION_BUCKETS),
        )

    def start(
        self, route: str | None, body: Mapping[str, Any] | None, deployment: Deployment
    ) -> CallSpan | None:
        """Start the span of one call (None for routes that are not GenAI operations)."""
        operation = OPERATIONS.get(route or "")
        if operation is None:
            return None
        return CallSpan(self, operation, body or {}, deployment, API_TYPES.get(route or ""))


class CallSpan:
    """The span (and metrics) of one logical call, retries and stream included."""

    def __init__(
        self,
        tracer: Tracer,
        operation: str,
        body: Mapping[str, Any],
        deployment: Deployment,
        api_type: str | None = None,
    ) -> None:
        from urllib.parse import urlsplit

        self._tracer = tracer
        self._started = time.monotonic()
        self._first_chunk_at: float | None = None
        self._finish_reasons: dict[int, str] = {}
        self._response_id: str | None = None
        self._response_model: str | None = None
        self._usage: Any = None
        self._text: list[str] = []
        self._adopted: Any = None
        self._attempts = 0
        self._ended = False
        self._capture = _env_true(ENV_CAPTURE_CONTENT)
        #: A Responses answer has a status and output items where chat has choices.
        self._responses = api_type == "responses"
        model = str(body.get("model") or "")
        url = urlsplit(deployment.endpoint)
        port = url.port or (443 if url.scheme == "https" else 80)
        #: The attributes every metric of this call carries too.
        self.common: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": PROVIDER_NAME,
            "gen_ai.request.model": model,
            "server.address": url.hostname or "",
            "server.port": port,
        }
        attributes: dict[str, Any] = {
            **self.common,
            "gen_ai.request.stream": bool(body.get("stream")),
            "oci.data_science.model_deployment.id": deployment.ocid,
        }
        if api_type is not None:
            attributes["openai.api.type"] = api_type
        for field, name in _REQUEST_ATTRIBUTES.items():
            value = body.get(field)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attributes[name] = value
        stop = body.get("stop")
        if stop:
            attributes["gen_ai.request.stop_sequences"] = (
                [stop] if isinstance(stop, str) else [str(s) for s in stop]
            )
        if self._capture:
            messages = _input_messages(body, self._responses)
            if messages is not None:
                attributes["gen_ai.input.messages"] = json.dumps(messages, default=str)
        span_name = f"{operation} {model}" if model else operation
        self.span = tracer.tracer.start_span(
            span_name, kind=tracer._trace.SpanKind.CLIENT, attributes=attributes
        )

    # -- attempts -------------------------------------------------------------------------

    def attempt(
        self,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Record one attempt (the first, or a retry) as a span event."""
        self._attempts += 1
        attributes: dict[str, Any] = {"odsc_llm.attempt": self._attempts}
        if status_code is not None:
            attributes["http.response.status_code"] = status_code
        if request_id:
            attributes["oci.opc_request_id"] = request_id
            self.span.set_attribute("oci.opc_request_id", request_id)
        if error is not None:
            attributes["error.type"] = type(error).__name__
        self.span.add_event("odsc_llm.attempt", attributes)

    # -- non-streamed answers -------------------------------------------------------------

    def succeeded(self, result: Any) -> None:
        """A whole answer arrived: record what it says and end the span."""
        self._absorb(result)
        request_id = getattr(result, "request_id", None)
        if request_id:
            self.span.set_attribute("oci.opc_request_id", request_id)
        if self._responses:  # (a raw APIResponse has no output_text)
            self._text.append(getattr(result, "output_text", None) or "")
        for choice in getattr(result, "choices", None) or ():
            message = getattr(choice, "message", None)
            text = getattr(message, "content", None) if message is not None else None
            text = text if text is not None else getattr(choice, "text", None)
            if text:
                self._text.append(text)
        self._end(None)

    def failed(self, error: BaseException) -> None:
        """The call failed (after its retries): ``error.type`` and an ERROR status."""
        request_id = getattr(error, "request_id", None)
        if request_id:
            self.span.set_attribute("oci.opc_request_id", request_id)
        self._end(error)

    # -- streams ----------------------------------------------------------------------------

    def adopt(self, stream: Any) -> None:
        """The attempt's stream is the answer (its first chunk has arrived): the span
        now ends when that stream releases its connection."""
        self._adopted = stream
        self._first_chunk_at = time.monotonic()
        self._tracer.first_chunk.record(self._first_chunk_at - self._started, self.common)

    def stream_closed(self, stream: Any) -> None:
        """A stream released its connection (its ``on_close``): at ``[DONE]``, on an
        error, or closed early by the caller. Streams of failed attempts are ignored."""
        if stream is not self._adopted:
            return
        handler = stream._handler
        # The stream keeps no chunk: ends() gives the first chunk's id and model and the
        # last usage; the handler merged each choice's finish_reason and the text as they came.
        for chunk in handler.ends():
            self._absorb(chunk)
        if handler.parts.usage is not None:
            self._usage = handler.parts.usage
        self._finish_reasons.update(handler.finished)
        if self._capture:
            self._text.append(handler.partial_text())
        if not handler.done and handler.failure is None:  # the caller stopped reading
            for index in handler.started - handler.finished.keys():
                self._finish_reasons[index] = CANCELLED
            if not self._finish_reasons:
                self._finish_reasons[0] = CANCELLED
        self._end(handler.failure if not handler.done else None)

    # -- shared -----------------------------------------------------------------------------

    def _absorb(self, answer: Any) -> None:
        self._response_id = getattr(answer, "id", None) or self._response_id
        self._response_model = getattr(answer, "model", None) or self._response_model
        usage = getattr(answer, "usage", None)
        if usage is not None:
            self._usage = usage
        status = getattr(answer, "status", None) if self._responses else None
        if status:  # a response has one output: its status ("completed", "incomplete"...)
            self._finish_reasons[0] = status
        for choice in getattr(answer, "choices", None) or ():
            reason = getattr(choice, "finish_reason", None)
            if reason is not None:
                self._finish_reasons[getattr(choice, "index", 0)] = reason

    def _end(self, error: BaseException | None) -> None:
        if self._ended:
            return
        self._ended = True
        span = self.span
        if self._response_id:
            span.set_attribute("gen_ai.response.id", self._response_id)
        if self._response_model:
            span.set_attribute("gen_ai.response.model", self._response_model)
        if self._finish_reasons:
            reasons = [self._finish_reasons[i] for i in sorted(self._finish_reasons)]
            span.set_attribute("gen_ai.response.finish_reasons", reasons)
        if self._first_chunk_at is not None:
            span.set_attribute(
                "gen_ai.response.time_to_first_chunk", self._first_chunk_at - self._started
            )
        metric_attributes = dict(self.common)
        if self._response_model:
            metric_attributes["gen_ai.response.model"] = self._response_model
        usage = self._usage
        if usage is not None:
            # Chat's usage names, or the Responses API's.
            input_tokens = getattr(usage, "prompt_tokens", getattr(usage, "input_tokens", None))
            output_tokens = getattr(
                usage, "completion_tokens", getattr(usage, "output_tokens", None)
            )
            for kind, count, name in (
                ("input", input_tokens, "gen_ai.usage.input_tokens"),
                ("output", output_tokens, "gen_ai.usage.output_tokens"),
            ):
                if isinstance(count, int):
                    span.set_attribute(name, count)
                    self._tracer.tokens.record(
                        count, {**metric_attributes, "gen_ai.token.type": kind}
                    )
        if self._capture and self._text:
            output = [{"role": "assistant", "content": "".join(self._text)}]
            span.set_attribute("gen_ai.output.messages", json.dumps(output))
        if error is not None:
            error_type = type(error).__name__
            span.set_attribute("error.type", error_type)
            metric_attributes["error.type"] = error_type
            status_code = getattr(error, "status_code", None)
            if isinstance(status_code, int):
                span.set_attribute("http.response.status_code", status_code)
            span.set_status(self._tracer._trace.Status(self._tracer._trace.StatusCode.ERROR))
            span.record_exception(error)
        self._tracer.duration.record(time.monotonic() - self._started, metric_attributes)
        span.end()


def _input_messages(body: Mapping[str, Any], responses: bool) -> list[Any] | None:
    """The request's prompt as chat-style messages: chat's ``messages``, a completion's
    ``prompt``, or a Responses call's ``instructions`` and ``input`` (a string or items;
    an embeddings ``input`` is not a prompt)."""
    messages = body.get("messages")
    if messages is not None:
        return list(messages)
    if "prompt" in body:
        return [{"role": "user", "content": body["prompt"]}]
    if not responses or "input" not in body:
        return None
    given = body["input"]
    items = [{"role": "user", "content": given}] if isinstance(given, str) else list(given)
    instructions = body.get("instructions")
    return [{"role": "system", "content": instructions}, *items] if instructions else items
