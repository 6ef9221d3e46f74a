"""The typed error of an HTTP error answer (internal): which class, and its message.

The clients call :func:`make_status_error` on every 3xx, 4xx and 5xx answer; the text
(the server's fields, the hints) comes from ``_error_text``. A vLLM 404 about an unknown
model name is completed with the names the deployment serves
(:func:`is_unknown_model`, :func:`with_served_models`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._error_text import (
    ErrorFields,
    error_fields,
    rate_limit_kind,
    status_hint,
    unknown_model,
    unknown_model_hint,
)
from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["is_unknown_model", "make_status_error", "with_served_models"]

_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _decode_body(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def _read_so_far(response: httpx.Response) -> bytes:
    """The body if it was read, else nothing: never read (a stream) from here."""
    import httpx  # loaded already: a response exists

    try:
        return response.content
    except httpx.ResponseNotRead:
        return b""


def make_status_error(response: httpx.Response, body: bytes | None = None) -> APIStatusError:
    """The typed error for a 3xx, 4xx or 5xx answer, from ``body`` if given (e.g. the
    first 64 KB the client read) or else from what was read of the response; it never
    reads the response itself."""
    raw = _read_so_far(response) if body is None else body
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("location") or "(no Location header)"
        fields = ErrorFields(
            f"redirected to {location}: model deployments do not redirect; check the endpoint"
        )
    else:
        fields = error_fields(raw, response.headers.get("content-type", ""))
    request_id = response.headers.get("opc-request-id")
    parts = [f"{status} {response.reason_phrase or ''}".strip() + f": {fields.message}"]
    if request_id:
        parts.append(f"(opc-request-id: {request_id})")
    extra: dict[str, Any] = {}
    if status == 429:
        extra["limit"] = rate_limit_kind(fields.message)
    hint = status_hint(status, fields.message)
    if hint:
        parts.append(f"Hint: {hint}")
    error_class = _STATUS_CLASSES.get(status)
    if error_class is None:
        error_class = InternalServerError if status >= 500 else APIStatusError
    return error_class(
        " ".join(parts),
        response=response,
        body=_decode_body(raw),
        code=fields.code,
        type=fields.type,
        param=fields.param,
        **extra,
    )


def is_unknown_model(error: NotFoundError, body: Mapping[str, Any] | None) -> bool:
    """A 404 about the body's ``model`` (vLLM's, not OCI's "no such deployment") that
    does not already list the valid names (newer vLLM releases do): worth one
    ``GET /v1/models`` to name them."""
    found = unknown_model(error.message or "")
    return body is not None and found is not None and found[1] is None


def with_served_models(error: NotFoundError, served: list[str] | None) -> NotFoundError:
    """``error``, its hint naming the models the deployment serves (when known)."""
    found = unknown_model(error.message or "")
    if served and found is not None:
        model = found[0]
        old, new = unknown_model_hint(model, None), unknown_model_hint(model, served)
        if old in error.message:
            error.message = error.message.replace(old, new)
        else:  # a message built elsewhere: add the names at the end
            error.message = f"{error.message} Hint: {new}"
        error.args = (error.message,)
    return error
