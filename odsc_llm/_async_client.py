# unasync: async only
# The one source of both clients: scripts/unasync.py writes _client.py (Client) from this
# file ("async" and "await" dropped, AsyncX read as X). Edit this file, then run it.
# unasync: end
"""``AsyncClient``: the I/O of a call (send, read, retry, close).

Everything that does no I/O (options, the deadline, building the request, classifying
the answer, parsing it, tracing) is in ``_base_client.BaseClient``; what has no common
shape in the two clients (the permit wait, blocking calls) is in ``_concurrency``.

One attempt: take a permit (at most ``max_connections`` requests in flight per pool),
send with the call's deadline set on the sockets (``_transport``), read an error body at
most ``MAX_ERROR_BODY_BYTES`` (3xx included: never followed), read a plain answer whole,
or build the stream and wait for its first event. Retries: the first attempt runs
without tenacity (the happy path stays cheap); after a retryable failure tenacity's loop
replays it (to compute the wait from it) and runs the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from tenacity import AsyncRetrying

from . import _constants as C
from ._base_client import USER_AGENT, BaseClient, EventHooks
from ._concurrency import AsyncPermits, arelease_when_collected, arun_blocking
from ._errors import APIError, APIStatusError, NotFoundError
from ._options import (
    NOT_GIVEN,
    Body,
    Call,
    ChunkType,
    Permit,
    TimeoutTypes,
    is_sse,
)
from ._retry import is_retryable
from ._status_errors import is_unknown_model, make_status_error, with_served_models
from ._streaming import AsyncStream
from ._transport import AsyncHTTPTransport, deadline, is_capped, max_connections

# unasync: async only
from ._transport._aiohttp import AiohttpTransport, Transport, checked_transport

# unasync: end
# unasync: sync only
# from ._async_client import AsyncClient  # the twin the sync batch runs on
# unasync: end
from .deployment import Deployment
from .types._base import ResponseType
from .types.params import Routing

if TYPE_CHECKING:
    # unasync: async only
    from collections.abc import AsyncIterator

    # unasync: end
    from .resources.audio import AsyncAudio
    from .resources.chat import AsyncChat
    from .resources.completions import AsyncCompletions
    from .resources.embeddings import AsyncEmbeddings
    from .resources.models import AsyncModels
    from .resources.rerank import AsyncRerank
    from .resources.responses import AsyncResponses
    from .resources.scoring import AsyncClassify, AsyncPooling, AsyncScore
    from .resources.tokenize import AsyncDetokenize, AsyncTokenize

__all__ = ["AsyncClient"]


log = logging.getLogger("odsc_llm")

ModelT = TypeVar("ModelT", bound=ResponseType)


# unasync: async only
async def _end_reads(response: httpx.Response, reads: AsyncIterator[bytes]) -> None:
    """End a body's byte iterator here, whether it was read whole or broken off.

    httpx's byte iterators are layers of async generators (httpx's, httpcore's, the
    transport's), and closing the outer one leaves each inner one to the garbage
    collector, whose ``aclose()`` asyncio only schedules: on a loop that stops first
    (``run_until_complete``), it never runs (Python 3.13 warns "coroutine method
    'aclose' ... was never awaited"). Closed first, the connection fails the next read,
    and that error ends every layer at once. (Sync generators need none of this: the
    collector closes them at once.)
    """
    await response.aclose()
    try:
        async for _ in reads:
            pass
    except (httpx.HTTPError, httpx.StreamError):
        pass  # the read of a closed connection fails: that is the point


# unasync: end


class AsyncClient(BaseClient):
    """An asynchronous client of one model deployment.

    ``deployment`` is a :class:`Deployment`, a URL or an OCID (default: the
    ``ODSC_LLM_DEPLOYMENT`` environment variable). ``auth`` signs each request (default:
    :func:`odsc_llm.auth.default`). ``timeout`` bounds each socket wait of an attempt
    (default 10 s to connect, 600 s per read; ``None`` for none); ``total_timeout`` bounds
    the whole call by the wall clock, retries, waits and body reading included, and a
    stream's wait for its first event (default: the longest part of ``timeout``);
    ``stream_idle_timeout`` bounds the gap between two content events of a stream
    (default: the read timeout). ``max_retries`` is the number of retries after the
    first attempt (0 disables them). ``model`` is the ``model`` every call sends unless
    it passes one (default ``"odsc-llm"``). ``tracing=True`` records OpenTelemetry GenAI
    spans and metrics (``None``: only after :func:`odsc_llm.instrument`; ``False``: never).
    ``routing`` says how a call names its container path: ``"header"`` (the default: to
    ``/predict`` or ``/predictWithResponseStream`` with a ``route`` header, which every
    deployment routes) or ``"path"`` (to ``/predict/v1/...``, only on deployments with
    Multiple Inference Endpoints; ``DeploymentInfo.routing`` says which fits).
    On the async client only, ``transport="aiohttp"`` sends through aiohttp's pool and C
    HTTP parser instead of httpx's (``pip install 'odsc-llm[aiohttp]'``): the same promises
    (deadlines, idle timeouts, permits, errors, signing), faster streams.
    """

    completions: AsyncCompletions
    chat: AsyncChat
    embeddings: AsyncEmbeddings
    models: AsyncModels
    rerank: AsyncRerank
    tokenize: AsyncTokenize
    detokenize: AsyncDetokenize
    audio: AsyncAudio
    score: AsyncScore
    classify: AsyncClassify
    pooling: AsyncPooling

    def __init__(
        self,
        deployment: Deployment | str | None = None,
        *,
        auth: httpx.Auth | None = None,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        timeout: TimeoutTypes = NOT_GIVEN,
        total_timeout: float | None = NOT_GIVEN,
        stream_idle_timeout: float | None = NOT_GIVEN,
        http_client: httpx.AsyncClient | None = None,
        default_headers: Mapping[str, str] | None = None,
        stream_endpoint: str = C.DEFAULT_STREAM_ENDPOINT,
        state_hint: bool = False,
        model: str | None = None,
        tracing: bool | None = None,
        event_hooks: EventHooks | None = None,
        routing: Routing = C.DEFAULT_ROUTING,
        # unasync: async only
        transport: Transport = C.DEFAULT_TRANSPORT,
        # unasync: end
        _sleep: Callable[[float], Any] | None = None,
    ) -> None:
        super().__init__(
            deployment,
            auth=auth,
            max_retries=max_retries,
            timeout=timeout,
            total_timeout=total_timeout,
            stream_idle_timeout=stream_idle_timeout,
            default_headers=default_headers,
            stream_endpoint=stream_endpoint,
            state_hint=state_hint,
            model=model,
            tracing=tracing,
            sleep=_sleep,
            routing=routing,
        )
        self._owns_http = http_client is None
        # unasync: async only
        self._transport = checked_transport(transport, http_client)
        # unasync: end
        if http_client is None:
            http_client = httpx.AsyncClient(
                transport=self._new_transport(),
                headers=USER_AGENT,
                follow_redirects=False,
                event_hooks=self._hooks(event_hooks),
            )
        elif event_hooks is not None:
            raise self._hooks_with_http_client()
        self._http = http_client
        self._capped_sockets = is_capped(http_client)
        size = max_connections(http_client)
        self._permits: AsyncPermits | None = None if size is None else AsyncPermits(size)
        from . import resources as r

        self.completions, self.chat = r.AsyncCompletions(self), r.AsyncChat(self)
        self.embeddings, self.models = r.AsyncEmbeddings(self), r.AsyncModels(self)
        self.rerank, self.tokenize = r.AsyncRerank(self), r.AsyncTokenize(self)
        self.detokenize = r.AsyncDetokenize(self)
        self.audio, self.score = r.AsyncAudio(self), r.AsyncScore(self)
        self.classify, self.pooling = r.AsyncClassify(self), r.AsyncPooling(self)

    @property
    def responses(self) -> AsyncResponses:
        """The Responses API (``/v1/responses``): ``create``, ``parse``, ``retrieve``,
        ``cancel``."""
        # Deferred: its models take longer to build than all the others, and most
        # clients never use them.
        from .resources.responses import AsyncResponses

        return AsyncResponses(self)

    # unasync: async only
    def _new_transport(self) -> httpx.AsyncBaseTransport:
        if self._transport == "aiohttp":
            return AiohttpTransport(limits=C.DEFAULT_LIMITS)
        return AsyncHTTPTransport(limits=C.DEFAULT_LIMITS)

    def _settings(self) -> dict[str, Any]:
        return {**super()._settings(), "transport": self._transport}

    # unasync: end
    # unasync: sync only
    # def _new_transport(self) -> httpx.BaseTransport:
    #     return HTTPTransport(limits=C.DEFAULT_LIMITS)
    #
    # unasync: end
    # -- one attempt --------------------------------------------------------------------

    async def _acquire(self, call: Call) -> Permit:
        permits = self._permits
        if permits is None:
            return Permit(None)
        return await permits.acquire(call.options, call.url)

    @staticmethod
    async def _read(response: httpx.Response, body: Body) -> bytes:
        reads = response.aiter_bytes()
        # unasync: async only
        try:
            async for chunk in reads:
                if not body.add(chunk):
                    break
        finally:
            await _end_reads(response, reads)
        # unasync: end
        # unasync: sync only
        # for chunk in reads:
        #     if not body.add(chunk):
        #         break
        # unasync: end
        return body.content()

    async def _attempt(self, call: Call) -> Any:
        options = call.options
        permit = await self._acquire(call)
        streaming = False
        token = deadline.set(options.deadline)
        try:
            if self._http.is_closed:
                raise self._closed_error(call)
            request = self._build_request(self._http, call)
            try:
                response = await self._http.send(
                    request, auth=self.auth, stream=True, follow_redirects=False
                )
                try:
                    if not 200 <= response.status_code < 300:  # a 3xx too: never followed
                        await self._read(response, Body(response, options, C.MAX_ERROR_BODY_BYTES))
                        raise make_status_error(response)
                    if call.chunk_type is None:
                        await self._read(response, Body(response, options, None))
                        return self._result(response, call.cast_to, None, call.raw)
                    if not is_sse(response):  # the stream builds the error from this much
                        await self._read(response, Body(response, options, C.MAX_ERROR_BODY_BYTES))
                    stream = self._make_stream(
                        AsyncStream, response, call.chunk_type, options, permit, call.span
                    )
                    streaming = True
                    await self._prime(stream)
                    return self._result(response, call.cast_to, stream, call.raw)
                finally:
                    if not streaming:
                        await response.aclose()
            except httpx.TransportError as exc:
                raise self._transport_error(exc, request, options) from exc
        except (APIError, RuntimeError) as error:
            closed = self._closed_instead(error, call, self._http.is_closed)
            if closed is None:
                raise
            raise closed from error
        finally:
            deadline.reset(token)
            if not streaming:
                permit.release()

    @staticmethod
    async def _prime(stream: AsyncStream[Any]) -> None:
        """Wait for the first event inside the attempt, so a break before it is retried."""
        try:
            await stream._aprime()
        except BaseException:
            await stream.aclose()
            raise

    # -- the call -----------------------------------------------------------------------

    async def _send(self, call: Call) -> Any:
        try:
            try:
                return await self._attempt_traced(call) if call.span else await self._attempt(call)
            except APIError as error:
                if call.options.max_retries == 0 or not is_retryable(error):
                    raise
                failed: APIError | None = error
            async for attempt in AsyncRetrying(**self._retry_kwargs(call)):
                with attempt:
                    if failed is not None:  # the first attempt's, replayed: tenacity waits
                        replay, failed = failed, None
                        raise replay
                    return (
                        await self._attempt_traced(call) if call.span else await self._attempt(call)
                    )
            raise AssertionError("unreachable: tenacity returns or raises")
        except APIStatusError as error:
            if self.state_hint and error.status_code in C.STATE_HINT_STATUSES:
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
        route: str,
        body: Mapping[str, Any] | None,
        cast_to: type[ModelT],
        chunk_type: ChunkType,
        options: Mapping[str, Any],
        raw: bool = False,
        *,
        method: str = "POST",
    ) -> Any:
        call = self._call(route, body, cast_to, chunk_type, options, raw, method)
        try:
            result = await self._send(call)
        except NotFoundError as error:
            if not is_unknown_model(error, body):
                raise self._untraced(call, error) from None
            raise self._untraced(
                call, with_served_models(error, await self._served_models())
            ) from None
        except BaseException as error:
            raise self._untraced(call, error) from None
        if call.span is not None and chunk_type is None:  # a stream's span ends with it
            call.span.succeeded(result)
        return result

    async def _attempt_traced(self, call: Call) -> Any:
        try:
            result = await self._attempt(call)
        except APIError as error:
            self._traced(call, error=error)
            raise
        self._traced(call, result)
        return result

    # unasync: sync only
    # def _async_twin(self) -> AsyncClient:
    #     """An AsyncClient with this client's deployment, auth and settings: the sync
    #     ``batch()`` runs the engine on one."""
    #     return AsyncClient(**self._settings())
    #
    # unasync: end
    async def _served_models(self) -> list[str] | None:
        try:
            return (await self.models.list(max_retries=0)).ids
        except APIError as exc:  # the hint is best-effort: never hide the real error
            log.debug("models look-up failed: %s", exc)
            return None

    async def deployment_state(self) -> str:
        """The deployment's lifecycle state (e.g. ``ACTIVE``), from the control plane (the
        async client runs the blocking ``oci`` call in a worker thread)."""
        from .control_plane import deployment_state

        return str(await arun_blocking(deployment_state, self.deployment, self.auth))

    async def aclose(self) -> None:
        """Close the connections (not those of an ``http_client`` you passed in): calls
        in flight on them end at once, and later calls fail, with ``ClientClosedError``."""
        if self._owns_http:
            await self._http.aclose()

    # unasync: async only
    close = aclose

    # unasync: end

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        http = getattr(self, "_http", None)
        if http is not None and getattr(self, "_owns_http", False):
            arelease_when_collected(http)

    def __repr__(self) -> str:
        return (
            f"AsyncClient(deployment={self.deployment.endpoint!r}, max_retries={self.max_retries})"
        )
