"""``Client`` and ``AsyncClient``: request building, retries and error mapping.

Everything that does no I/O (building the request, the deadline, classifying the
answer, parsing it) lives in ``_BaseClient`` and is shared; the two clients differ only
in the send, the sleep and the close.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import ValidationError
from tenacity import AsyncRetrying, Retrying

from . import _constants as C
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    InvalidDeploymentError,
    NotFoundError,
    RequestTooLargeError,
    make_status_error,
)
from ._response import APIResponse
from ._retry import is_retryable, retry_kwargs
from ._streaming import AsyncStream, Stream, close_soon
from ._validation import (
    validate_headers,
    validate_max_retries,
    validate_seconds,
    validate_timeout,
)
from ._version import __version__
from .deployment import Deployment
from .resources.models import is_unknown_model, with_served_models
from .types._base import ResponseType
from .types.chat import ChatCompletionChunk
from .types.completion import Completion

if TYPE_CHECKING:
    from .resources.chat import AsyncChat, Chat
    from .resources.completions import AsyncCompletions, Completions
    from .resources.embeddings import AsyncEmbeddings, Embeddings
    from .resources.models import AsyncModels, Models
    from .resources.rerank import AsyncRerank, Rerank
    from .resources.tokenize import AsyncDetokenize, AsyncTokenize, Detokenize, Tokenize

__all__ = ["AsyncClient", "Client"]

log = logging.getLogger("odsc_llm")

ModelT = TypeVar("ModelT", bound=ResponseType)


class _NotGiven:
    """Marks an argument left out (``None`` means "no timeout" and must stay distinct)."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()

TimeoutTypes = float | httpx.Timeout | None

_USER_AGENT = {"user-agent": f"odsc-llm/{__version__} python-httpx/{httpx.__version__}"}


def _to_timeout(value: TimeoutTypes) -> httpx.Timeout | None:
    validate_timeout(value)
    if value is None:
        return None
    if isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return httpx.Timeout(float(value))
    raise ValueError(
        f"timeout must be a positive number of seconds or an httpx.Timeout, not {value!r}"
    )


def _longest(timeout: httpx.Timeout | None) -> float | None:
    """The deadline a per-attempt timeout implies for a whole call (None: unbounded)."""
    if timeout is None:
        return None
    values = [v for v in (timeout.connect, timeout.read, timeout.write, timeout.pool)]
    if any(v is None for v in values):
        return None
    return max(v for v in values if v is not None)


def _cap(timeout: httpx.Timeout | None, remaining: float | None) -> httpx.Timeout | None:
    """Shrink each part of ``timeout`` so that no wait can pass the call's deadline."""
    if remaining is None:
        return timeout
    if timeout is None:
        return httpx.Timeout(remaining)

    def cap(value: float | None) -> float:
        return remaining if value is None else min(value, remaining)

    return httpx.Timeout(
        connect=cap(timeout.connect),
        read=cap(timeout.read),
        write=cap(timeout.write),
        pool=cap(timeout.pool),
    )


class _CallOptions:
    """What one call resolved from its own options and the client's defaults."""

    __slots__ = ("deadline", "extra_headers", "max_retries", "timeout", "total_timeout")

    def __init__(
        self,
        timeout: httpx.Timeout | None,
        total_timeout: float | None,
        max_retries: int,
        extra_headers: Mapping[str, str] | None,
    ) -> None:
        self.timeout = timeout
        self.total_timeout = total_timeout
        self.max_retries = max_retries
        self.extra_headers = extra_headers
        self.deadline = None if total_timeout is None else time.monotonic() + total_timeout

    def attempt_timeout(self, request_url: object) -> httpx.Timeout | None:
        if self.deadline is None:
            return self.timeout
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise APITimeoutError(
                f"The call's deadline (total_timeout={self.total_timeout} s) passed before "
                f"an attempt could start ({request_url})."
            )
        return _cap(self.timeout, remaining)


def _dumps(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _Replay:
    """Feeds an attempt that already failed to tenacity as its first attempt.

    The first call re-raises that failure (so tenacity computes the wait from it,
    ``Retry-After`` included); later calls run the real attempt.
    """

    __slots__ = ("error",)

    def __init__(self, error: APIError) -> None:
        self.error: APIError | None = error

    def then(self, attempt: Callable[..., httpx.Response]) -> Callable[..., httpx.Response]:
        def call(*args: Any) -> httpx.Response:
            if self.error is not None:
                error, self.error = self.error, None
                raise error
            return attempt(*args)

        return call

    def then_async(
        self, attempt: Callable[..., Awaitable[httpx.Response]]
    ) -> Callable[..., Awaitable[httpx.Response]]:
        async def call(*args: Any) -> httpx.Response:
            if self.error is not None:
                error, self.error = self.error, None
                raise error
            return await attempt(*args)

        return call


class _BaseClient:
    """The shared, I/O-free part of both clients."""

    deployment: Deployment
    max_retries: int
    timeout: httpx.Timeout | None
    total_timeout: float | None
    stream_endpoint: str

    def __init__(
        self,
        deployment: Deployment | str | None,
        *,
        auth: httpx.Auth | None,
        max_retries: int,
        timeout: TimeoutTypes,
        total_timeout: float | None,
        default_headers: Mapping[str, str] | None,
        stream_endpoint: str,
        state_hint: bool,
        sleep: Callable[[float], Any] | None,
        model: str | None = None,
    ) -> None:
        if model is not None and (not isinstance(model, str) or not model):
            raise ValueError(
                f"model must be a non-empty string (a served model name), not {model!r}"
            )
        #: The ``model`` every call sends unless it passes its own (AQUA multi-model and
        #: LoRA deployments choose by it); ``"odsc-llm"`` by default.
        self.model = model or C.DEFAULT_MODEL
        if deployment is None:
            deployment = os.environ.get("ODSC_LLM_DEPLOYMENT")
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
        self.timeout = C.DEFAULT_TIMEOUT if timeout is NOT_GIVEN else _to_timeout(timeout)
        if total_timeout is NOT_GIVEN:
            self.total_timeout = _longest(self.timeout)
        else:
            self.total_timeout = validate_seconds(total_timeout, "total_timeout")
        if stream_endpoint not in C.STREAM_ENDPOINTS:
            raise ValueError(
                f"stream_endpoint must be one of {C.STREAM_ENDPOINTS}, not {stream_endpoint!r}"
            )
        self.stream_endpoint = stream_endpoint
        self.state_hint = state_hint
        self._sleep = sleep
        # Parsed once: httpx re-parses a str URL on every request.
        self._predict_url = httpx.URL(self.deployment.predict_url)
        self._stream_url = httpx.URL(
            self.deployment.stream_url
            if stream_endpoint == C.DEFAULT_STREAM_ENDPOINT
            else self.deployment.predict_url
        )
        validate_headers(default_headers, name="default_headers")
        #: The caller's own default headers, as given (for twins such as the sync batch's).
        self.default_headers: dict[str, str] = dict(default_headers or {})
        base = {"content-type": "application/json", **self.default_headers}
        for name in base:
            if name.lower() == "authorization":
                raise ValueError(
                    "default_headers must not set Authorization: requests are signed by auth."
                )
        self._plain_headers = {"accept": "application/json", **base}
        # enable-streaming is the older style (on /predict); harmless on the stream endpoint.
        self._stream_headers = {
            "accept": "text/event-stream",
            "enable-streaming": "true",
            **base,
        }

    def _settings(self) -> dict[str, Any]:
        """The constructor arguments this client was built with (for copies and twins)."""
        return {
            "deployment": self.deployment,
            "auth": self.auth,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "total_timeout": self.total_timeout,
            "default_headers": self.default_headers,
            "stream_endpoint": self.stream_endpoint,
            "state_hint": self.state_hint,
            "model": self.model,
        }

    # -- request side -------------------------------------------------------------------

    def _options(self, options: Mapping[str, Any]) -> _CallOptions:
        timeout = options.get("timeout", NOT_GIVEN)
        total = options.get("total_timeout", NOT_GIVEN)
        max_retries = validate_max_retries(options.get("max_retries", self.max_retries))
        resolved = self.timeout if timeout is NOT_GIVEN else _to_timeout(timeout)
        if total is NOT_GIVEN:
            total = self.total_timeout if timeout is NOT_GIVEN else _longest(resolved)
        return _CallOptions(resolved, total, max_retries, options.get("extra_headers"))

    def _build_request(
        self,
        http_client: httpx.Client | httpx.AsyncClient,
        route: str | None,
        content: bytes,
        stream: bool,
        options: _CallOptions,
        method: str = "POST",
        path: str = "",
    ) -> httpx.Request:
        url = self._stream_url if stream else self._predict_url
        if path:
            url = url.copy_with(raw_path=url.raw_path.rstrip(b"/") + path.encode("ascii"))
        headers = dict(self._stream_headers if stream else self._plain_headers)
        if route is not None:
            headers["route"] = route
        if method == "GET":
            # Body-less: the service answers 411 without an explicit content-length.
            headers.pop("content-type", None)
            headers["content-length"] = "0"
        if options.extra_headers:
            for name, value in options.extra_headers.items():
                if name.lower() == "authorization":
                    raise ValueError(
                        "extra_headers must not set Authorization: requests are signed by auth."
                    )
                headers[name] = value
        timeout = options.attempt_timeout(url)
        return http_client.build_request(
            method,
            url,
            content=None if method == "GET" else content,
            headers=headers,
            timeout=timeout,
        )

    def _encode(self, body: Mapping[str, Any] | None) -> bytes:
        if body is None:
            return b""
        if "model" not in body:
            body = {"model": self.model, **body}
        content = _dumps(body)
        if len(content) > C.MAX_BODY_BYTES:
            raise RequestTooLargeError(
                f"The request body is {len(content):,} bytes; model deployments accept at "
                f"most {C.MAX_BODY_BYTES:,} (10 MB). Send fewer or shorter inputs per call."
            )
        return content

    def _retry_kwargs(self, options: _CallOptions, stream: bool) -> dict[str, Any]:
        remaining = (
            None if options.deadline is None else max(0.0, options.deadline - time.monotonic())
        )
        return retry_kwargs(
            max_retries=options.max_retries,
            total_timeout=remaining,
            method="POST",
            url=str(self._stream_url if stream else self._predict_url),
            sleep=self._sleep,
        )

    # -- answer side --------------------------------------------------------------------

    @staticmethod
    def _transport_error(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"Request to {request.url} timed out ({type(exc).__name__}).", request=request
            )
        return APIConnectionError(
            f"Could not talk to {request.url}: {type(exc).__name__}: {exc}", request=request
        )

    @staticmethod
    def _parse(response: httpx.Response, cast_to: type[ModelT]) -> ModelT:
        try:
            result = cast_to.model_validate_json(response.content)
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

    def _result(
        self,
        response: httpx.Response,
        cast_to: type[ModelT],
        chunk_type: type[Completion] | type[ChatCompletionChunk] | None,
        stream_cls: type[Stream[Any]] | type[AsyncStream[Any]],
        raw: bool,
    ) -> Any:
        """The typed answer (or stream) of a response; wrapped in an APIResponse if raw."""
        if chunk_type is not None:

            def parse() -> Any:
                return stream_cls(response, chunk_type)
        else:

            def parse() -> Any:
                return self._parse(response, cast_to)

        return APIResponse(response, parse) if raw else parse()

    @staticmethod
    def _hint_state(error: APIStatusError, state: str | None) -> APIStatusError:
        if state:
            error.message = f"{error.message} The deployment is {state}."
            error.args = (error.message,)
        return error


class Client(_BaseClient):
    """A synchronous client of one model deployment.

    ``deployment`` is a :class:`Deployment`, a URL or an OCID (default: the
    ``ODSC_LLM_DEPLOYMENT`` environment variable). ``auth`` signs each request (default:
    :func:`odsc_llm.auth.default`). ``timeout`` bounds each attempt (default 10 s to
    connect, 600 s per read; ``None`` for none); ``total_timeout`` bounds the whole call,
    retries included (default: the longest part of ``timeout``). ``max_retries`` is the
    number of retries after the first attempt (0 disables them).
    """

    completions: Completions
    chat: Chat
    embeddings: Embeddings
    models: Models
    rerank: Rerank
    tokenize: Tokenize
    detokenize: Detokenize

    def __init__(
        self,
        deployment: Deployment | str | None = None,
        *,
        auth: httpx.Auth | None = None,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        timeout: TimeoutTypes = NOT_GIVEN,
        total_timeout: float | None = NOT_GIVEN,
        http_client: httpx.Client | None = None,
        default_headers: Mapping[str, str] | None = None,
        stream_endpoint: str = C.DEFAULT_STREAM_ENDPOINT,
        state_hint: bool = False,
        model: str | None = None,
        _sleep: Callable[[float], Any] | None = None,
    ) -> None:
        super().__init__(
            deployment,
            auth=auth,
            max_retries=max_retries,
            timeout=timeout,
            total_timeout=total_timeout,
            default_headers=default_headers,
            stream_endpoint=stream_endpoint,
            state_hint=state_hint,
            sleep=_sleep,
            model=model,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            limits=C.DEFAULT_LIMITS,
            headers=_USER_AGENT,
            follow_redirects=False,
        )
        from .resources.chat import Chat
        from .resources.completions import Completions
        from .resources.embeddings import Embeddings

        self.completions = Completions(self)
        self.chat = Chat(self)
        self.embeddings = Embeddings(self)
        # AQUA/vLLM extras: models, tokenize, detokenize, rerank.
        from .resources.models import Models
        from .resources.rerank import Rerank
        from .resources.tokenize import Detokenize, Tokenize

        self.models = Models(self)
        self.rerank = Rerank(self)
        self.tokenize = Tokenize(self)
        self.detokenize = Detokenize(self)

    def copy(self, **overrides: Any) -> Client:
        """A new client with this one's settings, ``overrides`` applied (any constructor
        argument). It shares this client's connection pool (closing it leaves the pool
        open) unless ``http_client`` is overridden."""
        settings = {**self._settings(), "http_client": self._http, "_sleep": self._sleep}
        settings.update(overrides)
        twin = Client(**settings)
        twin._owns_http = "http_client" in overrides and overrides["http_client"] is None
        return twin

    #: ``client.with_options(timeout=5).completions.create(...)``: the same as :meth:`copy`.
    with_options = copy

    def _send_once(
        self,
        route: str | None,
        content: bytes,
        stream: bool,
        options: _CallOptions,
        method: str = "POST",
        path: str = "",
    ) -> httpx.Response:
        request = self._build_request(self._http, route, content, stream, options, method, path)
        try:
            response = self._http.send(
                request, auth=self.auth, stream=stream, follow_redirects=False
            )
            if response.status_code >= 400:
                if stream:
                    try:
                        response.read()
                    finally:
                        response.close()
                raise make_status_error(response)
        except httpx.TransportError as exc:
            raise self._transport_error(exc, request) from exc
        return response

    def _send(
        self,
        route: str | None,
        body: Mapping[str, Any] | None,
        stream: bool,
        options: _CallOptions,
        method: str = "POST",
        path: str = "",
    ) -> httpx.Response:
        content = self._encode(body)
        try:
            try:
                return self._send_once(route, content, stream, options, method, path)
            except APIError as first_error:
                if options.max_retries == 0 or not is_retryable(first_error):
                    raise
                # The happy path skips tenacity's set-up; after a failure, tenacity runs
                # the retries, starting from this first failure (replayed, not re-sent).
                replay = _Replay(first_error)
                retrying = Retrying(**self._retry_kwargs(options, stream))
                return retrying(
                    replay.then(self._send_once), route, content, stream, options, method, path
                )
        except APIStatusError as error:
            if self.state_hint and error.status_code in (404, 409, 503):
                raise self._hint_state(error, self._lookup_state()) from None
            raise

    def _lookup_state(self) -> str | None:
        try:
            return self.deployment_state()
        except Exception as exc:  # the hint is best-effort: never hide the real error
            log.debug("deployment state look-up failed: %s", exc)
            return None

    def _request(
        self,
        route: str | None,
        body: Mapping[str, Any] | None,
        cast_to: type[ModelT],
        chunk_type: type[Completion] | type[ChatCompletionChunk] | None,
        options: Mapping[str, Any],
        raw: bool = False,
        *,
        method: str = "POST",
        path: str = "",
    ) -> Any:
        call = self._options(options)
        try:
            response = self._send(route, body, chunk_type is not None, call, method, path)
        except NotFoundError as error:
            if not is_unknown_model(error, body):
                raise
            raise with_served_models(error, self._served_models()) from None
        return self._result(response, cast_to, chunk_type, Stream, raw)

    def _served_models(self) -> list[str] | None:
        try:
            return self.models.list(max_retries=0).ids
        except APIError as exc:  # the hint is best-effort: never hide the real error
            log.debug("models look-up failed: %s", exc)
            return None

    def deployment_state(self) -> str:
        """Ask the control plane for the deployment's lifecycle state (e.g. ``ACTIVE``)."""
        from .control_plane import deployment_state

        return str(deployment_state(self.deployment, self.auth))

    def close(self) -> None:
        """Close the connections (not those of an ``http_client`` you passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(deployment={self.deployment.endpoint!r}, max_retries={self.max_retries})"


class AsyncClient(_BaseClient):
    """An asynchronous client of one model deployment; same arguments as :class:`Client`."""

    completions: AsyncCompletions
    chat: AsyncChat
    embeddings: AsyncEmbeddings
    models: AsyncModels
    rerank: AsyncRerank
    tokenize: AsyncTokenize
    detokenize: AsyncDetokenize

    def __init__(
        self,
        deployment: Deployment | str | None = None,
        *,
        auth: httpx.Auth | None = None,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        timeout: TimeoutTypes = NOT_GIVEN,
        total_timeout: float | None = NOT_GIVEN,
        http_client: httpx.AsyncClient | None = None,
        default_headers: Mapping[str, str] | None = None,
        stream_endpoint: str = C.DEFAULT_STREAM_ENDPOINT,
        state_hint: bool = False,
        model: str | None = None,
        _sleep: Callable[[float], Any] | None = None,
    ) -> None:
        super().__init__(
            deployment,
            auth=auth,
            max_retries=max_retries,
            timeout=timeout,
            total_timeout=total_timeout,
            default_headers=default_headers,
            stream_endpoint=stream_endpoint,
            state_hint=state_hint,
            sleep=_sleep,
            model=model,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            limits=C.DEFAULT_LIMITS,
            headers=_USER_AGENT,
            follow_redirects=False,
        )
        from .resources.chat import AsyncChat
        from .resources.completions import AsyncCompletions
        from .resources.embeddings import AsyncEmbeddings

        self.completions = AsyncCompletions(self)
        self.chat = AsyncChat(self)
        self.embeddings = AsyncEmbeddings(self)
        # AQUA/vLLM extras: models, tokenize, detokenize, rerank.
        from .resources.models import AsyncModels
        from .resources.rerank import AsyncRerank
        from .resources.tokenize import AsyncDetokenize, AsyncTokenize

        self.models = AsyncModels(self)
        self.rerank = AsyncRerank(self)
        self.tokenize = AsyncTokenize(self)
        self.detokenize = AsyncDetokenize(self)

    def copy(self, **overrides: Any) -> AsyncClient:
        """A new client with this one's settings, ``overrides`` applied (any constructor
        argument). It shares this client's connection pool (closing it leaves the pool
        open) unless ``http_client`` is overridden."""
        settings = {**self._settings(), "http_client": self._http, "_sleep": self._sleep}
        settings.update(overrides)
        twin = AsyncClient(**settings)
        twin._owns_http = "http_client" in overrides and overrides["http_client"] is None
        return twin

    #: ``client.with_options(timeout=5).completions.create(...)``: the same as :meth:`copy`.
    with_options = copy

    async def _send_once(
        self,
        route: str | None,
        content: bytes,
        stream: bool,
        options: _CallOptions,
        method: str = "POST",
        path: str = "",
    ) -> httpx.Response:
        request = self._build_request(self._http, route, content, stream, options, method, path)
        try:
            response = await self._http.send(
                request, auth=self.auth, stream=stream, follow_redirects=False
            )
            if response.status_code >= 400:
                if stream:
                    try:
                        await response.aread()
                    finally:
                        await response.aclose()
                raise make_status_error(response)
        except httpx.TransportError as exc:
            raise self._transport_error(exc, request) from exc
        return response

    async def _send(
        self,
        route: str | None,
        body: Mapping[str, Any] | None,
        stream: bool,
        options: _CallOptions,
        method: str = "POST",
        path: str = "",
    ) -> httpx.Response:
        content = self._encode(body)
        try:
            try:
                return await self._send_once(route, content, stream, options, method, path)
            except APIError as first_error:
                if options.max_retries == 0 or not is_retryable(first_error):
                    raise
                replay = _Replay(first_error)
                retrying = AsyncRetrying(**self._retry_kwargs(options, stream))
                return await retrying(
                    replay.then_async(self._send_once),
                    route,
                    content,
                    stream,
                    options,
                    method,
                    path,
                )
        except APIStatusError as error:
            if self.state_hint and error.status_code in (404, 409, 503):
                raise self._hint_state(error, await self._lookup_state()) from None
            raise

    async def _lookup_state(self) -> str | None:
        try:
            return await self.deployment_state()
        except Exception as exc:  # the hint is best-effort: never hide the real error
            log.debug("deployment state look-up failed: %s", exc)
            return None

    async def _request(
        self,
        route: str | None,
        body: Mapping[str, Any] | None,
        cast_to: type[ModelT],
        chunk_type: type[Completion] | type[ChatCompletionChunk] | None,
        options: Mapping[str, Any],
        raw: bool = False,
        *,
        method: str = "POST",
        path: str = "",
    ) -> Any:
        call = self._options(options)
        try:
            response = await self._send(route, body, chunk_type is not None, call, method, path)
        except NotFoundError as error:
            if not is_unknown_model(error, body):
                raise
            raise with_served_models(error, await self._served_models()) from None
        return self._result(response, cast_to, chunk_type, AsyncStream, raw)

    async def _served_models(self) -> list[str] | None:
        try:
            return (await self.models.list(max_retries=0)).ids
        except APIError as exc:  # the hint is best-effort: never hide the real error
            log.debug("models look-up failed: %s", exc)
            return None

    async def deployment_state(self) -> str:
        """Ask the control plane for the deployment's lifecycle state, off the event loop."""
        from .control_plane import deployment_state

        return str(await asyncio.to_thread(deployment_state, self.deployment, self.auth))

    async def aclose(self) -> None:
        """Close the connections (not those of an ``http_client`` you passed in)."""
        if self._owns_http:
            await self._http.aclose()

    close = aclose

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Dropped without aclose(): close the pool on the running loop so sockets don't leak.
        http = getattr(self, "_http", None)
        if http is None or not getattr(self, "_owns_http", False) or http.is_closed:
            return
        close_soon(http.aclose)

    def __repr__(self) -> str:
        return (
            f"AsyncClient(deployment={self.deployment.endpoint!r}, max_retries={self.max_retries})"
        )
