"""The exception hierarchy of odsc_llm.

Every exception the package raises on purpose derives from :class:`OdscLLMError`:
catch it for "anything odsc_llm refused or could not do". :class:`APIError` is narrower:
what happened to one request sent to a model deployment (an error status, no answer, a
broken stream); bad arguments, credentials and ``parse()`` results are its siblings::

    OdscLLMError
    ├── AuthError                    credentials could not be loaded or used
    ├── InvalidDeploymentError       (also ValueError) a URL or OCID not understood
    ├── InvalidRequestError          (also ValueError, TypeError) bad call arguments
    │   └── RequestTooLargeError           a body (or one image) too large, not sent
    ├── DeploymentStateError         FAILED, DELETED, or not ACTIVE in time
    │   └── DeploymentWaitTimeout
    ├── ControlPlaneError            a Data Science / Logging API call failed
    ├── StructuredOutputError        an answer is not the requested type (parse())
    │   ├── OutputValidationError          not valid JSON of that type
    │   ├── LengthFinishReasonError        cut at max_tokens before the JSON ended
    │   └── ContentRefusalError            the model refused
    └── APIError                     tied to one request to a model deployment
        ├── APIStatusError           a 3xx, 4xx or 5xx answer
        │   ├── BadRequestError            400
        │   ├── AuthenticationError        401
        │   ├── PermissionDeniedError      403
        │   ├── NotFoundError              404
        │   ├── ConflictError              409
        │   ├── UnprocessableEntityError   422
        │   ├── RateLimitError             429
        │   └── InternalServerError        5xx
        ├── APIResponseValidationError     a 2xx answer of the wrong shape
        ├── APIConnectionError       the request did not get an answer
        │   ├── APITimeoutError
        │   └── ClientClosedError          the client was closed (before or during a call)
        └── StreamError              a streamed answer broke
            └── StreamTimeoutError

Bad arguments raise :class:`InvalidRequestError` (also a ``ValueError`` and a
``TypeError``) before anything is sent. Outside the tree: ``ImportError`` for a missing
optional extra (``pip install 'odsc-llm[openai]'``...), Python's own ``TypeError`` for a
call that does not match a signature, and what a callback of yours raises.
``odsc_llm.testing``'s ``SignatureVerificationError`` is an :class:`OdscLLMError` too.

Errors tied to an HTTP exchange carry ``request_id`` (the ``opc-request-id`` response
header) so a user can quote it to Oracle support. Secrets never appear here: messages are
built from response bodies, status codes, file names and profile names, never from keys,
pass phrases, tokens or the ``Authorization`` header.

The helpers that build an :class:`APIStatusError` from an answer are internal, in
``_status_errors`` (``make_status_error``) and ``_error_text`` (the readable text).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from ._error_text import RateLimitKind
from ._error_text import extract_error_message as extract_error_message
from ._error_text import rate_limit_kind as rate_limit_kind

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
    "ClientClosedError",
    "ConflictError",
    "ContentRefusalError",
    "ControlPlaneError",
    "DeploymentStateError",
    "DeploymentWaitTimeout",
    "InternalServerError",
    "InvalidDeploymentError",
    "InvalidRequestError",
    "LengthFinishReasonError",
    "NotFoundError",
    "OdscLLMError",
    "OutputValidationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTooLargeError",
    "StreamError",
    "StreamTimeoutError",
    "StructuredOutputError",
    "UnprocessableEntityError",
]


class OdscLLMError(Exception):
    """Base class of every error raised by odsc_llm."""


class AuthError(OdscLLMError):
    """Credentials could not be loaded or used (config file, profile, key, token)."""


class InvalidDeploymentError(OdscLLMError, ValueError):
    """A deployment URL or OCID could not be understood."""


class InvalidRequestError(OdscLLMError, ValueError, TypeError):
    """A call's arguments cannot be sent (NaN, a lone surrogate, a prompt item that is not
    a string or token id, a header with CR/LF...). Raised before anything is sent, never
    retried; the message names the parameter and the fix. Both a ``ValueError`` and a
    ``TypeError``, so either ``except`` catches it."""


class RequestTooLargeError(InvalidRequestError):
    """The request body is over the model deployment limit (10 MB), or one image is over
    the ``max_bytes`` given to :func:`odsc_llm.image`; it was not sent. An
    :class:`InvalidRequestError`: what was wrong is the call's input."""


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


class DeploymentWaitTimeout(DeploymentStateError):
    """``wait_until_active`` ran out of time before the deployment became ACTIVE."""


class ControlPlaneError(OdscLLMError):
    """A control-plane call (Data Science or Logging Search API, through ``oci``) failed.

    ``status_code`` and ``code`` are the service's HTTP status and error code
    (``NotAuthorizedOrNotFound``...), ``request_id`` its ``opc-request-id``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        if status is not None:
            warnings.warn(_STATUS_DEPRECATED, DeprecationWarning, stacklevel=2)
            status_code = status if status_code is None else status_code
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.operation = operation

    @property
    def status(self) -> int | None:
        """Deprecated alias of :attr:`status_code` (removed in the next release)."""
        warnings.warn(_STATUS_DEPRECATED, DeprecationWarning, stacklevel=2)
        return self.status_code


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
    """The deployment answered with a status that is not a success (3xx, 4xx or 5xx).

    ``code``, ``type`` and ``param`` are the error body's fields as the server sent them
    (OCI: ``code`` such as ``"NotAuthorizedOrNotFound"``; vLLM: ``code`` such as ``400``,
    ``type`` such as ``"BadRequestError"``, ``param`` the offending parameter). When the
    body has a ``type`` but no ``code``, ``code`` is the ``type``.
    """

    code: int | str | None
    type: str | None
    param: str | None

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object | None = None,
        code: int | str | None = None,
        type: str | None = None,  # the server's field name
        param: str | None = None,
    ) -> None:
        super().__init__(message, response=response, body=body)
        self.code = code
        self.type = type
        self.param = param


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
    """429: too many requests. ``limit`` says which limit, when the service said so:
    ``"bandwidth"`` (the deployment's load balancer bandwidth), ``"tenancy_rate"`` (the
    tenancy's requests per second, about 150), or ``None`` (not said)."""

    limit: RateLimitKind | None

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object | None = None,
        code: int | str | None = None,
        type: str | None = None,  # the server's field name
        param: str | None = None,
        limit: RateLimitKind | None = None,
    ) -> None:
        super().__init__(message, response=response, body=body, code=code, type=type, param=param)
        self.limit = limit


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


class ClientClosedError(APIConnectionError):
    """The client is closed: the call came after ``close()`` (or its ``with`` block), or
    was in flight when the client was closed. Never retried: make a new client."""


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


class StructuredOutputError(OdscLLMError):
    """A model's answer could not be turned into the requested type (``parse()``,
    ``parsed_arguments()``); :attr:`raw` is the text it wrote (possibly cut short)."""

    def __init__(self, message: str, *, raw: str | None = None) -> None:
        super().__init__(message)
        self.raw = raw


class OutputValidationError(StructuredOutputError):
    """The answer is not valid JSON of the requested type; :attr:`errors` are pydantic's."""

    def __init__(self, message: str, *, raw: str | None, errors: list[Any]) -> None:
        super().__init__(message, raw=raw)
        self.errors = errors


class LengthFinishReasonError(StructuredOutputError):
    """The answer was cut at ``max_tokens`` (``finish_reason == "length"``) before its
    JSON was complete: raise ``max_tokens`` (or ``max_completion_tokens``)."""


class ContentRefusalError(StructuredOutputError):
    """The model refused to answer in the requested shape (``message.refusal``)."""


# Tracebacks and reprs name the public path (odsc_llm.NotFoundError), as openai's do;
# pickle finds the classes there too.
for _name in __all__:
    globals()[_name].__module__ = "odsc_llm"


_STATUS_DEPRECATED = "ControlPlaneError.status is deprecated: use status_code."


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises RuntimeError when unset
    except RuntimeError:
        return False
    return True
