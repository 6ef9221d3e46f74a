"""The clients' transports: httpx's own, sending through a pool odsc_llm builds itself.

httpx documents custom transports as the seam for this: an ``httpx.HTTPTransport`` holds
one thing, the httpcore pool it sends through, built in its ``__init__``. Ours build that
pool with httpcore's public constructor arguments: the linear pool class (``_pool``) and,
as ``network_backend=``, the deadline backend (``_deadline``). Everything else (the
request and response mapping, httpx's exception mapping) is httpx's, inherited.

The linear pool overrides a private method of httpcore's pool, so it is used only on the
httpcore releases it is tested on (:data:`SUPPORTED_HTTPCORE`); on any other the
transports build httpcore's own pool (still with the deadline backend) and say so once,
at debug level, on the ``odsc_llm`` logger.
"""

from __future__ import annotations

import logging
from typing import Any

import httpcore
import httpx

from .. import _constants as C
from ._aiohttp import AiohttpTransport
from ._async_backend import AsyncDeadlineBackend
from ._backend import DeadlineBackend
from ._base import PooledTransport, PoolSettings
from ._pool import AsyncLinearConnectionPool, LinearConnectionPool

__all__ = [
    "SUPPORTED_HTTPCORE",
    "AsyncHTTPTransport",
    "HTTPTransport",
    "is_capped",
    "is_linear",
    "linear_pool_supported",
    "max_connections",
    "pool_of",
]

log = logging.getLogger("odsc_llm")

#: The httpcore releases the linear pool is tested on: [first, last) as version tuples.
#: CI runs the pool's tests on the newest release in it; a new minor release of httpcore
#: fails ``tests/transport/test_transports.py`` until it is checked and added here.
SUPPORTED_HTTPCORE = ((1, 0, 3), (1, 1))

_said_unsupported = False


def _version(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def linear_pool_supported(version: str | None = None) -> bool:
    """Whether this httpcore release (default: the installed one) is one the linear pool
    is tested on; says so once, at debug level, when it is not."""
    global _said_unsupported
    found = _version(version or httpcore.__version__)
    first, last = SUPPORTED_HTTPCORE
    supported = first <= found < last
    if not supported and not _said_unsupported and version is None:
        _said_unsupported = True
        log.debug(
            "httpcore %s is outside the releases odsc_llm's connection pool is tested on "
            "(%s to before %s): the clients use httpcore's own pool",
            httpcore.__version__,
            ".".join(map(str, first)),
            ".".join(map(str, last)),
        )
    return supported


class HTTPTransport(PooledTransport, httpx.HTTPTransport):
    """``httpx.HTTPTransport`` on odsc_llm's pool: connections assigned in one linear
    pass, one request per HTTP/1.1 connection, sockets capped to the call's deadline."""

    def _build(self, settings: PoolSettings) -> httpcore.ConnectionPool:
        pool_class = LinearConnectionPool if linear_pool_supported() else httpcore.ConnectionPool
        backend = DeadlineBackend(httpcore.SyncBackend())
        return pool_class(**settings.httpcore(), network_backend=backend)


class AsyncHTTPTransport(PooledTransport, httpx.AsyncHTTPTransport):
    """The async twin of :class:`HTTPTransport`. ``backend_class`` makes its sockets (a
    subclass of the deadline backend can wrap them further: the proxy's gathers writes)."""

    backend_class: type[AsyncDeadlineBackend] = AsyncDeadlineBackend

    def _build(self, settings: PoolSettings) -> httpcore.AsyncConnectionPool:
        pool_class = (
            AsyncLinearConnectionPool if linear_pool_supported() else httpcore.AsyncConnectionPool
        )
        backend = self.backend_class(httpcore.AnyIOBackend())
        return pool_class(**settings.httpcore(), network_backend=backend)


def pool_of(http_client: httpx.Client | httpx.AsyncClient) -> Any:
    """The httpcore pool an httpx client sends through, or None (a mock or custom
    transport). The one place that reads it."""
    return getattr(getattr(http_client, "_transport", None), "_pool", None)


def is_linear(http_client: httpx.Client | httpx.AsyncClient) -> bool:
    """Whether this httpx client sends through odsc_llm's linear pool."""
    return isinstance(pool_of(http_client), (LinearConnectionPool, AsyncLinearConnectionPool))


def is_capped(http_client: httpx.Client | httpx.AsyncClient) -> bool:
    """Whether this httpx client's sockets wait at most until the call's deadline."""
    if isinstance(getattr(http_client, "_transport", None), AiohttpTransport):
        return True
    backend = getattr(pool_of(http_client), "_network_backend", None)
    return isinstance(backend, (DeadlineBackend, AsyncDeadlineBackend))


def max_connections(http_client: httpx.Client | httpx.AsyncClient) -> int | None:
    """The pool's ``max_connections`` (the in-flight bound); ours if it can't be read."""
    transport = getattr(http_client, "_transport", None)
    if isinstance(transport, AiohttpTransport):
        return transport.max_connections
    value = getattr(pool_of(http_client), "_max_connections", C.DEFAULT_LIMITS.max_connections)
    return value if isinstance(value, int) else None
