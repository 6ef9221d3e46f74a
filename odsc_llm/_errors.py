"""The exception hierarchy of odsc_llm.

Every exception the package raises on purpose derives from :class:`OdscLLMError`.
Errors tied to an HTTP exchange carry ``request_id`` (the ``opc-request-id``
response header) so a user can quote it to Oracle support.

Secrets never appear here: messages are built from response bodies, status codes,
file names and profile names, never from keys, pass phrases, tokens or the
``Authorization`` header.
"""

from __future__ import annotations

import html
import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # httpx loads with the clients, not with `import odsc_llm`
    import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DeploymentStateError",
    "InternalServerError",
    "InvalidDeploymentError",
    "InvalidRequestError",
    "NotFoundError",
    "OdscLLMError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTooLargeError",
    "StreamError",
    "StreamTimeoutError",
    "UnprocessableEntityError",
    "extract_error_message",
    "make_status_error",
]

# Longest error text we put into a message; bodies can be whole HTML pages.
_MAX_MESSAGE_CHARS = 500


class OdscLLMError(Exception):
    """Base class of every error raised by odsc_llm."""


class AuthError(OdscLLMError):
    """Credentials could not be loaded or used (config file, profile, key, token)."""


class InvalidDeploymentError(OdscLLMError, ValueError):
    """A deployment URL or OCID could not be understood."""


class RequestTooLargeError(OdscLLMError, ValueError):
    """The request body is over the model deployment limit (10 MB); it was not sent."""


class DeploymentStateError(OdscLLMError):
    """The deployment is (or became) unusable: FAILED, DELETED, or not ACTIVE in time."""

    def __init__(
        self,
        message: str,
        *,
        state: str | None = None,
        lifecycle_details: str | None = None,
        log_lines: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.state = state
        self.lifecycle_details = lifecycle_details
        self.log_lines = list(log_lines or [])


class APIError(OdscLLMError):
    """An error tied to one request to a model deployment."""

    message: str
    request: httpx.Request | None
    request_id: str | None
    body: object | None

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        request_id: str | None = None,
        body: object | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        return self.message


class _ResponseError(APIError):
    """An error about an answer that arrived: keeps the response and its status."""

    response: httpx.Response
    status_code: int

    def __init__(self, message: str, *, response: httpx.Response, body: object | None) -> None:
        super().__init__(
            message,
            request=response.request if _has_request(response) else None,
            request_id=response.headers.get("opc-request-id"),
            body=body,
        )
        self.response = response
        self.status_code = response.status_code


class APIStatusError(_ResponseError):
    """The deployment answered with a 4xx or 5xx status."""

    #: The OCI error code (``NotAuthorizedOrNotFound``, ``TooManyRequests``...) when given.
    code: str | None

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, response=response, body=body)
        self.code = code


class APIResponseValidationError(_ResponseError):
    """A 2xx answer whose body is not the expected JSON shape."""


class BadRequestError(APIStatusError):
    """400: the server rejected the request's content (e.g. a prompt over the context)."""


class AuthenticationError(APIStatusError):
    """401: the signature was not accepted."""


class PermissionDeniedError(APIStatusError):
    """403: the principal is not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: no such deployment (or model name), or not allowed to see it."""


class ConflictError(APIStatusError):
    """409: e.g. ``ExternalServerIncorrectState`` (no stream on the stream endpoint)."""


class UnprocessableEntityError(APIStatusError):
    """422: the body was well-formed JSON but invalid for the model server."""


class RateLimitError(APIStatusError):
    """429: too many requests (OCI allows about 150 requests/s per tenancy)."""


class InternalServerError(APIStatusError):
    """5xx: the service or the model server failed."""


class APIConnectionError(APIError):
    """The request did not reach the deployment, or the connection broke."""

    def __init__(
        self,
        message: str = "Connection error.",
        *,
        request: httpx.Request | None = None,
    ) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """The request timed out (per attempt ``timeout``, or the whole call's deadline)."""

    def __init__(
        self, message: str = "Request timed out.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class StreamError(APIError):
    """A streamed answer broke: an error event, a chunk that is not JSON, or no ``[DONE]``.

    A stream that raises this never returned a complete answer; what arrived before the
    failure is in :attr:`partial_text` (possibly empty).
    """

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        request_id: str | None = None,
        body: object | None = None,
        partial_text: str = "",
        before_first_event: bool = False,
    ) -> None:
        super().__init__(message, request=request, request_id=request_id, body=body)
        self.partial_text = partial_text
        #: True when the stream failed before its first event (connection broken, timed
        #: out, or ended with nothing): the request may be sent again. False once any
        #: event arrived, and for answers the server meant (error events, bad chunks).
        self.before_first_event = before_first_event


class StreamTimeoutError(StreamError):
    """A stream stalled: no first event before ``total_timeout``, or no content event
    within ``stream_idle_timeout`` of the previous one (SSE comments do not count)."""


class InvalidRequestError(OdscLLMError, ValueError, TypeError):
    """A call's arguments cannot be sent (NaN, a lone surrogate, a prompt item that is not
    a string or token id, a header with CR/LF...). Raised before anything is sent, never
    retried; the message names the parameter and the fix. Both a ``ValueError`` and a
    ``TypeError``, so either ``except`` catches it."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_HINTS: dict[int, str] = {
    401: (
        "The request signature was not accepted. Check that this machine's clock is within "
        "5 minutes of real time, and, for a session token, that it has not expired "
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
    429: (
        "Too many requests: OCI allows about 150 requests/s per tenancy. "
        "Lower the concurrency or let the client retry (max_retries)."
    ),
    500: (
        "The service or model server failed. /predict answers 500 after 60 s: "
        "use stream=True for long answers."
    ),
    503: "The model server is unavailable (starting, scaling, overloaded or failed).",
}

_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"\s+")
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SCRIPT_RE = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises RuntimeError when unset
    except RuntimeError:
        return False
    return True


def _clip(text: str) -> str:
    text = _SPACE_RE.sub(" ", text).strip()
    if len(text) > _MAX_MESSAGE_CHARS:
        text = text[: _MAX_MESSAGE_CHARS - 3] + "..."
    return text


def _message_from_json(data: Any) -> tuple[str | None, str | None]:
    """(message, code) from the JSON error shapes of OCI, vLLM, llama.cpp and FastAPI."""
    if not isinstance(data, dict):
        return None, None
    # vLLM >= 0.10.1 and llama.cpp: {"error": {"message", "type", "param", "code"}}
    err = data.get("error")
    if isinstance(err, dict) and err.get("message") is not None:
        code = err.get("code") if err.get("code") is not None else err.get("type")
        return str(err["message"]), None if code is None else str(code)
    if isinstance(err, str) and err:
        return err, None
    # OCI: {"code": "NotAuthorizedOrNotFound", "message": "..."}
    # old vLLM: {"object": "error", "message": "...", "type": "...", "code": 400}
    if data.get("message") is not None:
        code = data.get("code")
        if code is None and isinstance(data.get("type"), str):
            code = data["type"]
        return str(data["message"]), None if code is None else str(code)
    # FastAPI validation errors: {"detail": ...}
    if "detail" in data:
        detail = data["detail"]
        return (detail if isinstance(detail, str) else json.dumps(detail)), None
    return None, None


def extract_error_message(body: bytes | str, content_type: str = "") -> tuple[str, str | None]:
    """A readable one-line message (and the error code if any) from an error body.

    Understands OCI JSON (``{"code", "message"}``), vLLM's old and new JSON shapes,
    llama.cpp and FastAPI errors, and HTML pages from gateways; falls back to the text.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    stripped = text.strip()
    if not stripped:
        return "(empty response body)", None
    if stripped[:1] in "{[":
        try:
            data = json.loads(stripped)
        except ValueError:
            pass
        else:
            message, code = _message_from_json(data)
            if message is not None:
                return _clip(message), code
            return _clip(stripped), None
    if "html" in content_type.lower() or stripped[:1] == "<":
        title_match = _TITLE_RE.search(stripped)
        title = html.unescape(_TAG_RE.sub(" ", title_match.group(1))) if title_match else ""
        page = _TITLE_RE.sub(" ", _SCRIPT_RE.sub(" ", stripped))
        page_text = _clip(html.unescape(_TAG_RE.sub(" ", page)))
        if title and page_text.startswith(_clip(title)):
            return page_text, None
        return _clip(f"{title}: {page_text}" if title else page_text), None
    return _clip(stripped), None


def _decode_body(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def make_status_error(response: httpx.Response, body: bytes | None = None) -> APIStatusError:
    """The typed error for a non-2xx response whose body has been read (or is given)."""
    raw = response.content if body is None else body
    readable, code = extract_error_message(raw, response.headers.get("content-type", ""))
    status = response.status_code
    if 300 <= status < 400:  # never followed: a redirect would leave the signed origin
        location = response.headers.get("location") or "(no Location header)"
        readable = (
            f"redirected to {location}: model deployments do not redirect; check the endpoint"
        )
    request_id = response.headers.get("opc-request-id")
    reason = response.reason_phrase or ""
    parts = [f"{status} {reason}".strip() + f": {readable}"]
    if request_id:
        parts.append(f"(opc-request-id: {request_id})")
    hint = _HINTS.get(status) or (_HINTS[500] if status >= 500 else None)
    if status == 503:
        hint = _HINTS[503]
    if hint:
        parts.append(f"Hint: {hint}")
    error_class = _STATUS_CLASSES.get(status)
    if error_class is None:
        error_class = InternalServerError if status >= 500 else APIStatusError
    return error_class(" ".join(parts), response=response, body=_decode_body(raw), code=code)


class DeploymentWaitTimeout(DeploymentStateError):
    """``wait_until_active`` ran out of time before the deployment became ACTIVE."""


class ControlPlaneError(OdscLLMError):
    """A control-plane call (Data Science or Logging Search API, through ``oci``) failed.

    ``status`` and ``code`` are the service's HTTP status and error code
    (``NotAuthorizedOrNotFound``...), ``request_id`` its ``opc-request-id``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.operation = operation


__all__ += ["ControlPlaneError", "DeploymentWaitTimeout"]
