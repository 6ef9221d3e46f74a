"""The proxy's routes and the wire formats of its own answers (errors, error events).

Each route speaks one dialect: ``openai`` (chat, completions, embeddings, vLLM's utility
routes), ``responses`` (OpenAI's Responses API) or ``anthropic`` (Messages). The dialect
chooses the shape of an error the proxy writes itself, the end marker of a stream, and
the error event that ends a broken stream:

* OpenAI: a stream ends with ``data: [DONE]``; an error event is
  ``data: {"error": {...}}`` then ``data: [DONE]`` (as vLLM writes one).
* Responses: a stream ends with ``response.completed`` (or ``.incomplete``/``.failed``);
  an error event is ``event: error`` with ``{"type": "error", "code", "message"}``.
* Anthropic: a stream ends with ``message_stop`` (vLLM's ``serving_messages.py`` then
  adds ``data: [DONE]``); an error event is ``event: error`` with
  ``{"type": "error", "error": {"type", "message"}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import _constants as C

__all__ = ["ROUTES", "Route", "error_body", "error_event"]


@dataclass(frozen=True)
class Route:
    """A path the proxy serves: its method, container route and dialect."""

    method: str
    api_route: str
    dialect: str  # "openai" | "responses" | "anthropic"
    #: The request body is multipart (forwarded as is), not JSON.
    multipart: bool = False


ROUTES: dict[str, Route] = {
    "/v1/chat/completions": Route("POST", C.ROUTE_CHAT_COMPLETIONS, "openai"),
    "/v1/completions": Route("POST", C.ROUTE_COMPLETIONS, "openai"),
    "/v1/embeddings": Route("POST", C.ROUTE_EMBEDDINGS, "openai"),
    "/v1/responses": Route("POST", "/v1/responses", "responses"),
    "/v1/messages": Route("POST", "/v1/messages", "anthropic"),
    "/v1/messages/count_tokens": Route("POST", "/v1/messages/count_tokens", "anthropic"),
    "/v1/audio/transcriptions": Route("POST", "/v1/audio/transcriptions", "openai", multipart=True),
    "/tokenize": Route("POST", C.ROUTE_TOKENIZE, "openai"),
    "/detokenize": Route("POST", C.ROUTE_DETOKENIZE, "openai"),
    "/v1/models": Route("GET", C.PATH_MODELS, "openai"),
}
#: The one path that needs no key.
HEALTH_PATH = "/health"

#: What ends a complete stream, per dialect. Each starts with a newline: a data line's
#: JSON escapes newlines, so a token's text cannot contain the marker (the tail of the
#: previous piece, or a leading newline, supplies the newline before the first line).
END_MARKERS: dict[str, tuple[bytes, ...]] = {
    "openai": (b"\ndata: [DONE]",),
    "responses": (
        b"\nevent: response.completed",
        b"\nevent: response.incomplete",
        b"\nevent: response.failed",
    ),
    "anthropic": (b"\nevent: message_stop",),
}

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
}


def error_body(dialect: str, status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """An error answer the proxy writes itself, in the route's shape."""
    if dialect == "anthropic":
        kind = _ANTHROPIC_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    kind = _OPENAI_TYPES.get(status, "api_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code or status}}


def _line(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def error_event(dialect: str, message: str, *, separate: bool) -> bytes:
    """The event that ends a broken stream; ``separate``: end the event cut short first."""
    if dialect == "anthropic":
        body = b"event: error\ndata: " + _line(error_body("anthropic", 502, message)) + b"\n\n"
    elif dialect == "responses":
        payload = {"type": "error", "code": "upstream_error", "message": message, "param": None}
        body = b"event: error\ndata: " + _line(payload) + b"\n\n"
    else:
        body = b"data: " + _line(error_body("openai", 502, message)) + b"\n\ndata: [DONE]\n\n"
    return (b"\n\n" if separate else b"") + body


class EndWatch:
    """Watches a stream's bytes for its end marker, keeping only a short tail."""

    __slots__ = ("_markers", "_tail", "ended", "seen")

    def __init__(self, dialect: str) -> None:
        self._markers = END_MARKERS[dialect]
        self._tail = b"\n"
        self.seen = False
        #: The bytes so far end at an event boundary (a blank line).
        self.ended = True

    def feed(self, chunk: bytes) -> None:
        window = self._tail + chunk
        if not self.seen:
            self.seen = any(marker in window for marker in self._markers)
        self._tail = window[-C.PROXY_MARKER_TAIL :]
        self.ended = window.endswith((b"\n\n", b"\r\n\r\n"))
