"""The typed error of an HTTP error answer (internal): which class, and its message.

The clients call :func:`make_status_error` on every 3xx, 4xx and 5xx answer; the text
(the server's fields, the hints) comes from ``_error_text``. A vLLM 404 about an unknown
model name is completed with the names the deployment serves
(:func:`is_unknown_model`, :func:`with_served_models`).
"""

from __future__ import annotations

import json
import re
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


#: The service's code for "no such deployment, or not allowed", which is also what it
#: answers to a path it does not route: ``{endpoint}/predict/<suffix>`` on a deployment
#: without Multiple Inference Endpoints. (OCI Data Science docs, "Predict Endpoint": 404
#: ``NotAuthorizedOrNotFound``, "Model deployment not found or authorization failed".)
NOT_FOUND_CODE = "NotAuthorizedOrNotFound"
# The path form: a suffix after /predict or /predictWithResponseStream.
_PATH_FORM = re.compile(r"/(?:predict|predictWithResponseStream)(/[^?#]+)")
PATH_NOT_ROUTED_HINT = (
    "this request named its container path in the URL ({path}: routing='path'), which "
    "only deployments with Multiple Inference Endpoints route; a classic deployment "
    "(AI Quick Actions, oracle-ads) answers it 404. Use routing='header' (the default: "
    "the route header, which every deployment routes), or enable Multiple Inference "
    "Endpoints on the deployment (predictApiSpecification 'openai', or "
    "customHttpEndpoints naming {suffix}). If it has them, check the OCID, region and "
    "IAM policies: OCI gives this 404 for those too."
)


def _path_not_routed(response: httpx.Response, code: object) -> str | None:
    """The routing hint of the service's 404 to a path-form request, else None."""
    if code != NOT_FOUND_CODE:
        return None  # vLLM's 404 (unknown model, unknown path): it was routed
    try:
        path = response.request.url.path
    except RuntimeError:  # a response built without its request
        return None
    match = _PATH_FORM.search(path)
    return (
        None
        if match is None
        else PATH_NOT_ROUTED_HINT.format(path=match.group(0), suffix=match.group(1))
    )


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
    hint = (status == 404 and _path_not_routed(response, fields.code)) or status_hint(
        status, fields.message
    )
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
