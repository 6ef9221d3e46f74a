"""Readable text from an error answer: the server's fields from its body, and hints.

Internal to :mod:`odsc_llm._errors` (and the stream, for error events); standard
library only, as ``import odsc_llm`` loads it.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, Literal, NamedTuple

__all__ = [
    "HINTS",
    "RATE_LIMIT_HINTS",
    "ErrorFields",
    "RateLimitKind",
    "error_fields",
    "extract_error_message",
    "rate_limit_kind",
    "status_hint",
    "unknown_model",
    "unknown_model_hint",
]

#: Which limit a 429 hit: the load balancer's bandwidth, or the tenancy's request rate.
RateLimitKind = Literal["bandwidth", "tenancy_rate"]

# Longest error text we put into a message; bodies can be whole HTML pages.
_MAX_MESSAGE_CHARS = 500

HINTS: dict[int, str] = {
    401: (
        "The request signature was not accepted. Check, for an API key, that the profile's "
        "key_file and fingerprint are those of a public key uploaded for its user (and "
        "tenancy) in the console: a wrong fingerprint, another key, or a key deleted since "
        "all give this 401 (`openssl rsa -pubout -outform DER -in KEY_FILE | openssl md5 -c` "
        "prints a key's fingerprint); that this machine's clock is within 5 minutes of "
        "real time; and, for a session token, that it has not expired "
        "(`oci session refresh --profile <profile>`, or `oci session authenticate`)."
    ),
    403: "The principal is not allowed to call this deployment: check the IAM policies.",
    404: (
        "Either no deployment exists at this URL (check the OCID and region), or your "
        "principal is not allowed to use it (an IAM policy must allow "
        "DATA_SCIENCE_MODEL_DEPLOYMENT_PREDICT on it); OCI does not say which. vLLM also "
        "answers 404 to a model name other than 'odsc-llm'."
    ),
    409: (
        "The deployment is in a state that cannot serve this request; "
        "ExternalServerIncorrectState means the model server did not stream on the "
        "streaming endpoint (pass stream_endpoint='predict' or check the container)."
    ),
    413: "The request body is over the 10 MB limit of model deployments.",
    500: (
        "The service or model server failed. /predict answers 500 after 60 s: "
        "use stream=True for long answers."
    ),
    503: "The model server is unavailable (starting, scaling, overloaded or failed).",
}

# What to do about a 429, by the limit the service named (None: it did not say).
RATE_LIMIT_HINTS: dict[RateLimitKind | None, str] = {
    "bandwidth": (
        "The deployment's load balancer bandwidth limit was hit: raise the deployment's "
        "load balancer bandwidth (edit the model deployment), or send less data at once "
        "(fewer concurrent requests or streams)."
    ),
    "tenancy_rate": (
        "The tenancy's request-rate limit (about 150 requests/s over all its model "
        "deployments) was hit: spread the requests out (lower the concurrency, let the "
        "client retry with max_retries), or ask Oracle for a limit increase (a support "
        "ticket for Data Science naming the requests/s you need)."
    ),
    None: (
        "Too many requests: the deployment's load balancer bandwidth or the tenancy's "
        "request rate (about 150 requests/s) was exceeded. Lower the concurrency or let "
        "the client retry (max_retries); if it persists, raise the deployment's bandwidth "
        "or ask Oracle for a limit increase."
    ),
}

# vLLM's 404 for a model name it does not serve (newer releases, and the emulator, add
# "Valid aliases: a, b."); the deployment itself was found, so no IAM hint applies.
_UNKNOWN_MODEL_RE = re.compile(r"The model `([^`]*)` does not exist")
_ALIASES_RE = re.compile(r"Valid aliases: ([^\n]*?)\.?$")

_BANDWIDTH_RE = re.compile(r"bandwidth", re.IGNORECASE)
_TENANCY_RATE_RE = re.compile(
    r"request[-_ ]?rate|requests? per second|requests/s|tenancy", re.IGNORECASE
)
_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"\s+")
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SCRIPT_RE = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)


class ErrorFields(NamedTuple):
    """What an error body says: a readable message and the server's own fields."""

    message: str
    code: int | str | None = None
    type: str | None = None
    param: str | None = None


def _clip(text: str) -> str:
    text = _SPACE_RE.sub(" ", text).strip()
    if len(text) > _MAX_MESSAGE_CHARS:
        text = text[: _MAX_MESSAGE_CHARS - 3] + "..."
    return text


def _scalar(value: object) -> int | str | None:
    """A code as the server sent it: an int or a string (anything else as its JSON)."""
    if value is None or (isinstance(value, (int, str)) and not isinstance(value, bool)):
        return value
    return json.dumps(value)


def _text(value: object) -> str | None:
    return None if value is None else value if isinstance(value, str) else json.dumps(value)


def _fields_from_json(data: Any) -> ErrorFields | None:
    """The fields of the JSON error shapes of OCI, vLLM, llama.cpp and FastAPI."""
    if not isinstance(data, dict):
        return None
    # vLLM >= 0.10.1 and llama.cpp: {"error": {"message", "type", "param", "code"}}
    err = data.get("error")
    if isinstance(err, dict) and err.get("message") is not None:
        data = err
    elif isinstance(err, str) and err:
        return ErrorFields(err)
    # OCI: {"code": "NotAuthorizedOrNotFound", "message": "..."}
    # old vLLM: {"object": "error", "message", "type", "param", "code": 400}
    if data.get("message") is not None:
        type_ = _text(data.get("type"))
        code = _scalar(data.get("code"))
        return ErrorFields(
            str(data["message"]), type_ if code is None else code, type_, _text(data.get("param"))
        )
    # FastAPI validation errors: {"detail": ...}
    if "detail" in data:
        detail = data["detail"]
        return ErrorFields(detail if isinstance(detail, str) else json.dumps(detail))
    return None


def error_fields(body: bytes | str, content_type: str = "") -> ErrorFields:
    """A readable one-line message and the server's fields (code, type, param) from an
    error body: OCI JSON (``{"code", "message"}``), vLLM's old and new JSON shapes,
    llama.cpp and FastAPI errors, and HTML pages from gateways; else the text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    stripped = text.strip()
    if not stripped:
        return ErrorFields("(empty response body)")
    if stripped[:1] in "{[":
        try:
            data = json.loads(stripped)
        except ValueError:
            pass
        else:
            fields = _fields_from_json(data)
            if fields is not None:
                return fields._replace(message=_clip(fields.message))
            return ErrorFields(_clip(stripped))
    if "html" in content_type.lower() or stripped[:1] == "<":
        title_match = _TITLE_RE.search(stripped)
        title = html.unescape(_TAG_RE.sub(" ", title_match.group(1))) if title_match else ""
        page = _TITLE_RE.sub(" ", _SCRIPT_RE.sub(" ", stripped))
        page_text = _clip(html.unescape(_TAG_RE.sub(" ", page)))
        if title and page_text.startswith(_clip(title)):
            return ErrorFields(page_text)
        return ErrorFields(_clip(f"{title}: {page_text}" if title else page_text))
    return ErrorFields(_clip(stripped))


def extract_error_message(
    body: bytes | str, content_type: str = ""
) -> tuple[str, int | str | None]:
    """``(message, code)`` of an error body; see :func:`error_fields`."""
    fields = error_fields(body, content_type)
    return fields.message, fields.code


def rate_limit_kind(message: str) -> RateLimitKind | None:
    """Which limit a 429's message names (matched loosely), or None if it names none."""
    if _BANDWIDTH_RE.search(message):
        return "bandwidth"
    if _TENANCY_RATE_RE.search(message):
        return "tenancy_rate"
    return None


def unknown_model(message: str) -> tuple[str, list[str] | None] | None:
    """``(model, served names or None)`` when ``message`` is vLLM's 404 for a model it
    does not serve; None for any other message (e.g. OCI's "no such deployment")."""
    match = _UNKNOWN_MODEL_RE.search(message)
    if match is None:
        return None
    aliases = _ALIASES_RE.search(message)
    served = [n.strip() for n in aliases.group(1).split(",") if n.strip()] if aliases else None
    return match.group(1), served or None


def unknown_model_hint(model: str, served: list[str] | None) -> str:
    """What to do about a model name the deployment does not serve."""
    if served:
        return (
            f"model {model!r} is not served here. This deployment serves: "
            f"{', '.join(served)} (pass one as model=..., or Client(model=...))."
        )
    return (
        f"model {model!r} is not served here (the deployment answered: only the model "
        "name is wrong). client.models.list() says which models it serves: pass one as "
        "model=..., or Client(model=...)."
    )


def status_hint(status: int, message: str) -> str | None:
    """What to do about an error answer of ``status`` whose text is ``message``."""
    if status == 429:
        return RATE_LIMIT_HINTS[rate_limit_kind(message)]
    if status == 404:
        model = unknown_model(message)
        if model is not None:  # vLLM's answer: the deployment exists, the name is wrong
            return unknown_model_hint(*model)
    return HINTS.get(status) or (HINTS[500] if status >= 500 else None)
