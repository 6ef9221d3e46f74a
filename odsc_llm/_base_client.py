"""The I/O-free core both clients share: options, the call's deadline, building the
request, reading rules for bodies, classifying failures and building the typed result.

``Client`` and ``AsyncClient`` (``_client.py``) differ only in the send, the body read,
the sleep and the close.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

import httpx
from pydantic import ValidationError
from typing_extensions import Self

from . import _constants as C
from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    InvalidDeploymentError,
    InvalidRequestError,
    StreamError,
)
from ._json import validate_json
from ._options import (
    NOT_GIVEN,
    Call,
    CallOptions,
    ChunkType,
    Permit,
    TimeoutTypes,
    encode,
    longest,
    to_timeout,
)
from ._response import APIResponse
from ._retry import retry_kwargs
from ._route_urls import RouteURLs
from ._streaming import AsyncStream, Stream, stream_class
from ._tracing import client_tracing, tracer_for
from ._validation import (
    validate_headers,
    validate_max_retries,
    validate_options,
    validate_routing,
    validate_seconds,
    validate_stream_endpoint,
)
from ._version import __version__
from .deployment import Deployment
from .types._base import ResponseType
from .types.chat import ChatCompletionChunk
from .types.completion import Completion
from .types.params import Routing

if TYPE_CHECKING:
    from .types.responses import ResponseStreamEvent

__all__ = ["BaseClient", "EventHooks"]

#: httpx's ``event_hooks``: ``{"request": [fn, ...], "response": [fn, ...]}``.
EventHooks = Mapping[str, list[Callable[..., Any]]]

log = logging.getLogger("odsc_llm")

ModelT = TypeVar("ModelT", bound=ResponseType)

USER_AGENT = {"user-agent": f"odsc-llm/{__version__} python-httpx/{httpx.__version__}"}


class BaseClient:
    """The shared, I/O-free part of both clients."""

    deployment: Deployment
    max_retries: int
    timeout: httpx.Timeout | None
    total_timeout: float | None
    stream_idle_timeout: float | None
    stream_endpoint: str
    _owns_http: bool
    #: True when the pool's sockets are capped to the call's deadline (``_deadline``).
    _capped_sockets = False
    #: The in-flight bound (a threading or asyncio semaphore), shared by copies.
    _permits: Any

    def __init__(
        self,
        deployment: Deployment | str | None,
        *,
        auth: httpx.Auth | None,
        max_retries: int,
        timeout: TimeoutTypes,
        total_timeout: float | None,
        stream_idle_timeout: float | None,
        default_headers: Mapping[str, str] | None,
        stream_endpoint: str,
        state_hint: bool,
        model: str | None,
        tracing: bool | None,
        sleep: Callable[[float], Any] | None,
        routing: Routing = C.DEFAULT_ROUTING,
    ) -> None:
        if deployment is None:
            deployment = os.environ.get(C.ENV_DEPLOYMENT)
            if not deployment:
                raise InvalidDeploymentError(
                    "No deployment given: pass deployment=<URL, OCID or Deployment>, "
                    "or set the ODSC_LLM_DEPLOYMENT environment variable."
                )
        self.deployment = Deployment.coerce(deployment)
        if auth is None or not isinstance(auth, httpx.Auth):
            from .auth import resolve  # lazy: loading credentials imports oci

            auth = resolve(auth)
        self.auth = auth
        self.max_retries = validate_max_retries(max_retries)
        self.timeout = C.DEFAULT_TIMEOUT if timeout is NOT_GIVEN else to_timeout(timeout)
        if total_timeout is NOT_GIVEN:
            self.total_timeout = longest(self.timeout)
        else:
            self.total_timeout = validate_seconds(total_timeout, "total_timeout")
        # Kept as given (NOT_GIVEN too) so copies with another timeout derive it again.
        self._stream_idle_given = stream_idle_timeout
        self.stream_idle_timeout = self._idle(stream_idle_timeout, self.timeout)
        self.stream_endpoint = validate_stream_endpoint(stream_endpoint)
        self._routing = cast("Routing", validate_routing(routing))
        self.state_hint = state_hint
        if model is not None and (not isinstance(model, str) or not model):
            raise InvalidRequestError(
                f"model must be a non-empty string (a served model name), not {model!r}."
            )
        #: The ``model`` every call sends unless it passes its own (AQUA multi-model and
        #: LoRA deployments choose by it); ``"odsc-llm"`` by default.
        self.model = model or C.DEFAULT_MODEL
        #: True: every call traced; False: never; None: when instrument() is on.
        self._tracing = tracing
        client_tracing(tracing)  # the environment variable may turn on instrument()
        self._sleep = sleep
        self._route_urls = RouteURLs(self.deployment, self.stream_endpoint, self._routing)
        validate_headers(default_headers, name="default_headers")
        #: The caller's own default headers, as given (for twins such as the sync batch's).
        self.default_headers: dict[str, str] = dict(default_headers or {})
        base = {"content-type": "application/json", **self.default_headers}
        self._plain_headers = {"accept": "application/json", **base}
        # The service answers 411 to a body-less request without content-length.
        self._bodyless_headers = {
            "accept": "application/json",
            **self.default_headers,
            "content-length": "0",
        }
        # enable-streaming is the older style (on /predict); harmless on the stream endpoint.
        self._stream_headers = {
            "accept": "text/event-stream",
            "enable-streaming": "true",
            **base,
        }

    @property
    def routing(self) -> Routing:
        """How calls name their container path: ``"header"`` (to ``/predict`` or
        ``/predictWithResponseStream`` with a ``route`` header; every deployment) or
        ``"path"`` (to ``/predict/<route>``; only Multiple Inference Endpoints
        deployments). Set at construction (``Client(routing=...)``, ``copy(routing=...)``)."""
        return self._routing

    @staticmethod
    def _idle(value: object, timeout: httpx.Timeout | None) -> float | None:
        if value is NOT_GIVEN:
            return None if timeout is None else timeout.read
        return validate_seconds(value, "stream_idle_timeout")

    @staticmethod
    def _hooks(event_hooks: EventHooks | None) -> dict[str, list[Callable[..., Any]]] | None:
        """httpx's ``event_hooks``, checked (they run on every send, retries included)."""
        if event_hooks is None:
            return None
        unknown = set(event_hooks) - {"request", "response"}
        if unknown or not all(isinstance(v, list) for v in event_hooks.values()):
            raise InvalidRequestError(
                'event_hooks must be {"request": [callable, ...], "response": [...]}, '
                f"not {event_hooks!r}."
            )
        return {name: list(hooks) for name, hooks in event_hooks.items()}

    @staticmethod
    def _hooks_with_http_client() -> InvalidRequestError:
        return InvalidRequestError(
            "event_hooks apply to the client's own connection pool: with http_client=..., "
            "set them on that client (httpx.Client(event_hooks=...)) instead."
        )

    def _settings(self) -> dict[str, Any]:
        """The constructor arguments this client was built with (for copies and twins)."""
        return {
            "deployment": self.deployment,
            "auth": self.auth,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "total_timeout": self.total_timeout,
            "stream_idle_timeout": self._stream_idle_given,
            "default_headers": self.default_headers,
            "stream_endpoint": self.stream_endpoint,
            "state_hint": self.state_hint,
            "model": self.model,
            "tracing": self._tracing,
            "routing": self._routing,
        }

    def copy(self, **overrides: Any) -> Self:
        """A new client with this one's settings, ``overrides`` applied (any constructor
        argument). It shares this client's connection pool (closing it leaves the pool
        open) unless ``http_client`` is overridden."""
        http = getattr(self, "_http", None)
        settings = {**self._settings(), "http_client": http, "_sleep": self._sleep}
        settings.update(overrides)
        twin = type(self)(**settings)
        twin._owns_http = "http_client" in overrides and overrides["http_client"] is None
        if "http_client" not in overrides:
            twin._permits = getattr(self, "_permits", None)  # one bound per pool
        return twin

    #: ``client.with_options(timeout=5).completions.create(...)``: the same as :meth:`copy`.
    with_options = copy

    # -- request side -------------------------------------------------------------------

    def _options(self, options: Mapping[str, Any]) -> CallOptions:
        if not options:  # the common case: the client's defaults
            return CallOptions(
                self.timeout, self.total_timeout, self.max_retries, None, self.stream_idle_timeout
            )
        validate_options(options)  # every path: create() and the body-less GETs alike
        timeout = options.get("timeout", NOT_GIVEN)
        total = options.get("total_timeout", NOT_GIVEN)
        idle = options.get("stream_idle_timeout", NOT_GIVEN)
        max_retries = validate_max_retries(options.get("max_retries", self.max_retries))
        if timeout is NOT_GIVEN:
            resolved = self.timeout
            total = (
                self.total_timeout
                if total is NOT_GIVEN
                else validate_seconds(total, "total_timeout")
            )
            idle = self.stream_idle_timeout if idle is NOT_GIVEN else self._idle(idle, resolved)
        else:
            resolved = to_timeout(timeout)
            total = (
                longest(resolved)
                if total is NOT_GIVEN
                else validate_seconds(total, "total_timeout")
            )
            idle = self._idle(idle, resolved)
        return CallOptions(resolved, total, max_retries, options.get("extra_headers"), idle)

    def _call(
        self,
        route: str,
        body: Mapping[str, Any] | None,
        cast_to: type[Any],
        chunk_type: ChunkType,
        options: Mapping[str, Any],
        raw: bool,
        method: str,
    ) -> Call:
        """Everything a call sends, resolved once for all its attempts (nothing sent yet)."""
        resolved = self._options(options)
        url = self._route_urls.url(route, chunk_type is not None)
        if body is not None and "model" not in body:
            body = {"model": self.model, **body}  # first, as the OpenAI SDKs send it
        content = None if body is None else encode(body)
        call = Call(method, url, route, content, cast_to, chunk_type, resolved, raw)
        tracer = None if self._tracing is False else tracer_for(self._tracing is True)
        if tracer is not None:
            call.span = tracer.start(route, body, self.deployment)
        return call

    def _build_request(
        self, http_client: httpx.Client | httpx.AsyncClient, call: Call
    ) -> httpx.Request:
        options = call.options
        if call.content is None:
            headers = dict(self._bodyless_headers)
        else:
            headers = dict(self._plain_headers if call.chunk_type is None else self._stream_headers)
        if self._routing == "header":  # path mode: the route is in the URL already
            headers["route"] = call.route
        if options.extra_headers:  # checked by validate_options
            headers.update(options.extra_headers)
        return http_client.build_request(
            call.method,
            call.url,
            content=call.content,
            headers=headers,
            timeout=options.attempt_timeout(
                call.url, call.chunk_type is not None and self._capped_sockets
            ),
        )

    def _retry_kwargs(self, call: Call) -> dict[str, Any]:
        remaining = call.options.remaining()
        return retry_kwargs(
            max_retries=call.options.max_retries,
            total_timeout=None if remaining is None else max(0.0, remaining),
            method=call.method,
            url=str(call.url),
            sleep=self._sleep,
        )

    # -- answer side --------------------------------------------------------------------

    @staticmethod
    def _transport_error(
        exc: httpx.TransportError, request: httpx.Request, options: CallOptions
    ) -> APIConnectionError:
        if isinstance(exc, httpx.TimeoutException):
            remaining = options.remaining()
            if remaining is not None and remaining <= 0:
                error = options.passed(f"while waiting ({type(exc).__name__})", request.url)
                error.request = request
                return error
            return APITimeoutError(
                f"Request to {request.url} timed out ({type(exc).__name__}).", request=request
            )
        return APIConnectionError(
            f"Could not talk to {request.url}: {type(exc).__name__}: {exc}", request=request
        )

    @staticmethod
    def _closed_error(call: Call, during: bool = False) -> ClientClosedError:
        """The error of a call made after ``close()`` (or cut short by it)."""
        what = (
            f"it was closed while {call.url} was waiting for its answer, which never came"
            if during
            else f"nothing was sent to {call.url}"
        )
        return ClientClosedError(
            f"The client is closed: {what}. A client is closed by close(), by the end of "
            "its with block, or when the http_client passed to it is closed: make a new "
            "client for new calls."
        )

    @classmethod
    def _closed_instead(
        cls, error: BaseException, call: Call, closed: bool
    ) -> ClientClosedError | None:
        """What an attempt that failed while the client closed raises instead of
        ``error``: closing is why its connection broke (or why httpx refused to send)."""
        if not closed or isinstance(error, ClientClosedError):
            return None
        if isinstance(error, StreamError):
            return cls._closed_error(call, True) if error.before_first_event else None
        if isinstance(error, (APIConnectionError, RuntimeError)):  # httpx: "has been closed"
            return cls._closed_error(call, not isinstance(error, RuntimeError))
        return None

    @staticmethod
    def _parse(response: httpx.Response, cast_to: type[ModelT]) -> ModelT:
        try:  # a lone surrogate escape is read as U+FFFD, not a reason to reject it all
            result = validate_json(cast_to, response.content)
        except ValidationError as exc:
            text = response.content[:300].decode("utf-8", "replace")
            raise APIResponseValidationError(
                f"The answer of {response.request.url} is not a {cast_to.__name__}: "
                f"{exc.errors()[0].get('msg', exc)}; body starts with {text!r} "
                f"(opc-request-id: {response.headers.get('opc-request-id') or '-'})",
                response=response,
                body=text,
            ) from None
        result._set_request_id(response.headers.get("opc-request-id"))
        return result

    @staticmethod
    def _make_stream(
        stream_cls: type[Stream[Any]] | type[AsyncStream[Any]],
        response: httpx.Response,
        chunk_type: type[Completion] | type[ChatCompletionChunk] | type[ResponseStreamEvent],
        options: CallOptions,
        permit: Permit,
        span: Any = None,
    ) -> Any:
        """The stream over ``response``; it holds the permit until it is closed (and a
        traced call's span until then too)."""
        on_close = permit.release
        if span is not None:

            def on_close() -> None:
                permit.release()
                span.stream_closed(stream)

        stream = stream_class(stream_cls, chunk_type)(
            response,
            chunk_type,
            idle_timeout=options.idle_timeout,
            first_event_deadline=options.deadline,
            on_close=on_close,
        )
        return stream

    @staticmethod
    def _untraced(call: Call, error: BaseException) -> BaseException:
        """End a traced call's span with ``error`` (which the caller raises)."""
        if call.span is not None:
            call.span.failed(error)
        return error

    @staticmethod
    def _traced(call: Call, result: Any = None, error: BaseException | None = None) -> None:
        """Record one attempt of a traced call (its outcome, status and request id)."""
        span = call.span
        status = getattr(error, "status_code", None) if error is not None else 200
        request_id = getattr(error if error is not None else result, "request_id", None)
        span.attempt(status_code=status, request_id=request_id, error=error)
        if error is None and call.chunk_type is not None:
            span.adopt(getattr(result, "parse", lambda: result)())

    def _result(
        self, response: httpx.Response, cast_to: type[ModelT], stream: Any, raw: bool
    ) -> Any:
        """The typed answer (or the stream); wrapped in an APIResponse if raw."""
        if stream is not None:
            return APIResponse(response, lambda: stream) if raw else stream
        if raw:
            return APIResponse(response, lambda: self._parse(response, cast_to))
        return self._parse(response, cast_to)

    @staticmethod
    def _hint_state(error: APIStatusError, state: str | None) -> APIStatusError:
        if state:
            error.message = f"{error.message} The deployment is {state}."
            error.args = (error.message,)
        return error
