"""The proxy's access log: one ``key=value`` line per request on the ``odsc_llm.proxy``
logger (``odsc-llm proxy`` writes it to stderr).

Fields: ``time`` (UTC, ISO 8601), ``method``, ``path``, ``model`` (as the caller named
it), ``deployment`` (the OCID that answered), ``status``, ``opc_request_id`` (``-`` when
the proxy answered itself), ``ttfb_ms`` (first byte of the answer's body) and
``duration_ms``; ``stream_error=1`` when a stream was ended with an error event and
``disconnected=1`` when the caller went away. No header is ever logged, so keys,
signatures and tokens cannot appear; values the caller chose are quoted.
"""

from __future__ import annotations

import datetime
import json
import logging
import time

__all__ = ["LOGGER_NAME", "AccessRecord"]

LOGGER_NAME = "odsc_llm.proxy"
logger = logging.getLogger(LOGGER_NAME)


def _value(text: str) -> str:
    # A value with a space, quote, '=' or control character is JSON-quoted, so one
    # request is always one parseable line.
    if text and text.isprintable() and not any(c in text for c in ' "='):
        return text
    return json.dumps(text)


class AccessRecord:
    """What one request's log line says, filled in as the request goes."""

    __slots__ = (
        "deployment",
        "disconnected",
        "method",
        "model",
        "path",
        "request_id",
        "started",
        "status",
        "stream_error",
        "ttfb",
        "wall",
    )

    def __init__(self, method: str, path: str) -> None:
        self.method = method
        self.path = path
        self.model = "-"
        self.deployment = "-"
        self.status = 0
        self.request_id = "-"
        self.started = time.perf_counter()
        self.wall = time.time()
        self.ttfb: float | None = None
        self.stream_error = False
        self.disconnected = False

    def first_byte(self) -> None:
        if self.ttfb is None:
            self.ttfb = time.perf_counter() - self.started

    def line(self) -> str:
        stamp = datetime.datetime.fromtimestamp(self.wall, datetime.timezone.utc)
        duration = (time.perf_counter() - self.started) * 1000
        ttfb = "-" if self.ttfb is None else f"{self.ttfb * 1000:.1f}"
        fields = [
            f"time={stamp.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}",
            f"method={_value(self.method)}",
            f"path={_value(self.path)}",
            f"model={_value(self.model)}",
            f"deployment={_value(self.deployment)}",
            f"status={self.status}",
            f"opc_request_id={_value(self.request_id)}",
            f"ttfb_ms={ttfb}",
            f"duration_ms={duration:.1f}",
        ]
        if self.stream_error:
            fields.append("stream_error=1")
        if self.disconnected:
            fields.append("disconnected=1")
        return " ".join(fields)

    def log(self) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info(self.line())
