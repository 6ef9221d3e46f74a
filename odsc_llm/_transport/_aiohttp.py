"""The optional aiohttp transport (``AsyncClient(transport="aiohttp")``): httpx's API on
aiohttp's connection pool and C HTTP parser (llhttp).

Why aiohttp directly and not ``httpx-aiohttp`` (what openai-python's
``DefaultAioHttpClient`` uses): that package maps ``ServerDisconnectedError`` to
``httpx.ConnectTimeout`` (a server dropping a stream would read as a connect timeout)
and lets aiohttp's own timer errors through as a bare ``TimeoutError``, and it has no
hook for the call's deadline. What it does beyond that (a request and a response
converted, about 30 lines) is written here with the mapping odsc_llm's promises need;
one dependency fewer.

The promises of the default transport hold here too: every wait before the answer's
head, and every body read while the attempt runs, ends by the call's deadline
(``_deadline.deadline``); aiohttp's failures become httpx's (which the clients turn into
``APIConnectionError`` / ``APITimeoutError``); a response closed before its end closes
its connection (never handed to the next request); the pool holds at most
``limits.max_connections`` connections, which the clients' permits read.

aiohttp is imported when a transport is built, never by ``import odsc_llm``.
"""

from __future__ import annotations

import asyncio
import functools
import select
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from .. import _constants as C
from .._errors import InvalidRequestError
from ..types.params import Transport
from ._base import PooledTransport, PoolSettings
from ._deadline import capped, deadline

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AiohttpTransport", "Transport", "aiohttp_client", "checked_transport"]

T = TypeVar("T")

_EXTRA = "pip install 'odsc-llm[aiohttp]'"


def checked_transport(value: object, http_client: httpx.AsyncClient | None) -> Transport:
    """``value`` if it is one of :data:`~odsc_llm._constants.TRANSPORTS` and fits
    ``http_client`` (``"aiohttp"`` builds the client's own pool, or takes one on aiohttp)."""
    if value == "httpx":
        return "httpx"
    if value != "aiohttp" or isinstance(value, bool):
        raise InvalidRequestError(
            f"transport must be 'httpx' (the default) or 'aiohttp' (aiohttp's pool and C "
            f"HTTP parser: {_EXTRA}), not {value!r}."
        )
    _aiohttp()  # a missing extra is said now, not at the first call
    if http_client is not None and not isinstance(
        getattr(http_client, "_transport", None), AiohttpTransport
    ):
        raise InvalidRequestError(
            "transport='aiohttp' builds the client's own connection pool: with http_client=..., "
            "pass one on aiohttp (http_client=odsc_llm.aiohttp_client()) or leave transport out."
        )
    return "aiohttp"


def _aiohttp() -> Any:
    try:
        import aiohttp
    except ImportError as exc:
        raise InvalidRequestError(
            f"transport='aiohttp' needs the aiohttp package, which is not installed: {_EXTRA} "
            "(or leave transport at its default, 'httpx')."
        ) from exc
    return aiohttp


if sys.version_info >= (3, 11):

    async def _within(seconds: float, awaitable: Awaitable[T]) -> T:
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover - Python 3.10

    async def _within(seconds: float, awaitable: Awaitable[T]) -> T:
        return await asyncio.wait_for(awaitable, seconds)


async def _by_deadline(awaitable: Awaitable[T], error: type[Exception]) -> T:
    """``awaitable``, ended with ``error`` when the running call's deadline passes."""
    end = deadline.get()
    if end is None:
        return await awaitable
    remaining = end - time.monotonic()
    if remaining <= 0:
        close = getattr(awaitable, "close", None)  # never started: no "never awaited"
        if close is not None:
            close()
        raise error("the call's deadline (total_timeout) passed")
    return await _within(remaining, awaitable)


def _httpx_error(exc: BaseException, reading: bool) -> httpx.TransportError | None:
    """The httpx error for an aiohttp (or socket) failure, as httpx's own transport would
    raise it; None for what is no transport failure."""
    aiohttp = sys.modules["aiohttp"]
    text = str(exc) or type(exc).__name__
    # Order matters: aiohttp's timeout errors are OSErrors and ClientErrors too.
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(text)
    if isinstance(exc, asyncio.TimeoutError):  # sock_read, and the deadline's own timer
        return httpx.ReadTimeout(text)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(text)
    broken = (
        aiohttp.ServerDisconnectedError,
        aiohttp.ClientPayloadError,
        aiohttp.ClientResponseError,
    )
    if isinstance(exc, broken):  # closed early, a body cut short, a malformed answer: as h11
        return httpx.RemoteProtocolError(text)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(text)
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        return httpx.ReadError(text) if reading else httpx.WriteError(text)
    return None


def _has_bytes(protocol: Any) -> bool:
    """Whether an idle connection holds bytes no request asked for (received already, or
    still in the socket): a second answer past the first's end, or the server's close."""
    if protocol.should_close:  # what aiohttp read (and parsed) while it was idle
        return True
    transport = protocol.transport
    sock = None if transport is None else transport.get_extra_info("socket")
    if sock is None:
        return False
    if hasattr(select, "poll"):  # not select(): descriptors past 1024 in a big fan-out
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock], [], [], 0)[0])  # pragma: no cover - Windows


@functools.cache
def _connector_class() -> Any:
    base: Any = _aiohttp().TCPConnector

    class Connector(base):  # type: ignore[misc]
        """aiohttp's pool, never reusing a connection with bytes waiting on it.

        aiohttp checks only that an idle connection is still connected: what arrived on
        it meanwhile is parsed as the next request's answer (httpcore had the same hazard,
        see ``_pool``). ``_get`` is where aiohttp hands an idle connection out.
        """

        async def _get(self, *args: Any) -> Any:
            while True:
                connection = await super()._get(*args)
                if connection is None or not _has_bytes(connection.protocol):
                    return connection
                connection.protocol.force_close()
                connection.release()  # closed, not pooled: force_close says so

    return Connector


class _Body(httpx.AsyncByteStream):
    """An aiohttp response body as httpx reads it."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while True:
                # The hot loop of a stream: no timer unless a call's deadline runs.
                if deadline.get() is None:
                    data = await content.readany()
                else:
                    data = await _by_deadline(content.readany(), httpx.ReadTimeout)
                if not data:
                    return
                yield data
        except Exception as exc:
            error = _httpx_error(exc, reading=True)
            if error is None:
                raise
            raise error from exc

    def at_end(self) -> bool:
        """Whether aiohttp has parsed the body's end (what is left is in its buffer)."""
        return bool(self._response.content.is_eof())

    async def aclose(self) -> None:
        response = self._response
        if response.content.is_eof():
            response.release()  # whole: the connection goes back to the pool
        else:
            response.close()  # cut short: the connection is closed, never reused


class AiohttpTransport(PooledTransport, httpx.AsyncBaseTransport):
    """An httpx transport sending through an ``aiohttp.ClientSession``: HTTP/1.1, at
    most ``limits.max_connections`` connections, each socket wait capped to the call's
    deadline, aiohttp's failures raised as httpx's. Needs ``odsc-llm[aiohttp]``."""

    _session: aiohttp.ClientSession | None = None
    _closed = False

    def _build(self, settings: PoolSettings) -> None:
        _aiohttp()  # fail here, at construction, when the extra is missing
        if settings.retries or settings.socket_options:
            raise InvalidRequestError(
                "the aiohttp transport takes no retries= or socket_options= (aiohttp's "
                "connector has neither): leave them out, or use the default transport."
            )
        self._settings = settings  # the session is built on first use, on the running loop

    @property
    def max_connections(self) -> int | None:
        """The pool's bound on open connections (the clients' in-flight bound)."""
        return self._settings.limits.max_connections

    def _open(self) -> aiohttp.ClientSession:
        # Built on first use: an aiohttp session belongs to the running event loop.
        aiohttp = _aiohttp()
        settings = self._settings
        limits = settings.limits
        connector = _connector_class()(
            limit=limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=limits.keepalive_expiry,
            ssl=settings.ssl_context,
            local_addr=(settings.local_address, 0) if settings.local_address else None,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
            auto_decompress=False,  # httpx decodes
            # Send exactly the headers httpx built (and the signer signed): nothing added.
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.ConnectError("the transport is closed")
        session = self._session or self._open()
        aiohttp = sys.modules["aiohttp"]
        import yarl  # aiohttp's own dependency

        timeout = request.extensions.get("timeout", {})
        data: Any
        try:
            data = request.content or None
        except httpx.RequestNotRead:  # a streamed body: aiohttp sends it chunked
            data = request.stream
        try:
            response = await _by_deadline(
                session.request(
                    request.method,
                    # As sent and signed: aiohttp must not re-quote the path.
                    yarl.URL(str(request.url), encoded=True),
                    headers=request.headers.multi_items(),
                    data=data,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(
                        total=None,
                        connect=capped(timeout.get("pool"), httpx.PoolTimeout),
                        sock_connect=capped(timeout.get("connect"), httpx.ConnectTimeout),
                        # Not capped: it stays armed for the whole body, and a stream
                        # outlives the deadline after its first event. _by_deadline
                        # bounds the reads while the call's deadline runs.
                        sock_read=timeout.get("read"),
                    ),
                    server_hostname=request.extensions.get("sni_hostname"),
                ),
                httpx.ReadTimeout,
            )
        except Exception as exc:
            error = _httpx_error(exc, reading=False)
            if error is None:
                raise
            raise error from exc
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def aiohttp_client(
    *,
    limits: httpx.Limits = C.DEFAULT_LIMITS,
    timeout: httpx.Timeout | float | None = C.DEFAULT_TIMEOUT,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` on odsc_llm's aiohttp transport (as openai-python's
    ``DefaultAioHttpClient``), for ``AsyncClient(http_client=...)`` when you want the
    pool yourself: its own ``limits`` (the client's in-flight bound follows them), shared
    by several clients, or closed by you. ``kwargs`` go to ``httpx.AsyncClient``
    (``headers``, ``event_hooks``...). ``AsyncClient(transport="aiohttp")`` builds one
    for you. Needs ``pip install 'odsc-llm[aiohttp]'``.
    """
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=limits),
        timeout=timeout,
        follow_redirects=False,
        **kwargs,
    )
