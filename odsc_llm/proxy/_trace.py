"""odsc_llm's OpenTelemetry span of a forwarded call (``create_app(tracing=True)``)."""

from __future__ import annotations

from typing import Any

from .._tracing import tracer_for
from ._forward import Attempted
from ._log import AccessRecord

__all__ = ["ProxiedError", "Span"]


class Span:
    """odsc_llm's span of one forwarded call (``tracing=True``), as a client's: started
    when the deployment that answers is known, ended with the answer's outcome."""

    def __init__(self, tracing: bool, api_route: str, payload: dict[str, Any] | None) -> None:
        self._tracer = tracer_for(tracing) if tracing else None
        self._route, self._payload = api_route, payload
        self._span: Any = None

    def answered(self, attempted: Attempted, request_id: str) -> None:
        if self._tracer is None:
            return
        deployment = attempted.target.deployment
        self._span = self._tracer.start(self._route, self._payload, deployment)
        if self._span is not None:
            status = attempted.response.status_code
            self._span.attempt(status_code=status, request_id=request_id)

    def end(self, record: AccessRecord) -> None:
        span = self._span
        if span is None:
            return
        if record.ttfb is not None and (self._payload or {}).get("stream") is True:
            span.adopt(None)  # records the time to the first chunk
        if 200 <= record.status < 300 and not record.stream_error and not record.disconnected:
            span.succeeded(None)
        else:
            span.failed(ProxiedError(f"status {record.status}"))


class ProxiedError(Exception):
    """What a traced call's span records as its ``error.type`` when it failed."""
