"""What every odsc_llm transport takes: httpx's transport arguments (HTTP/1.1, no proxy),
read once here; each transport builds its pool from them (``_build``)."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from .. import _constants as C

__all__ = ["PoolSettings", "PooledTransport"]


@dataclass(frozen=True)
class PoolSettings:
    """A transport's arguments, as its pool needs them."""

    ssl_context: ssl.SSLContext
    limits: httpx.Limits
    retries: int
    local_address: str | None
    socket_options: Iterable[Any] | None

    def httpcore(self) -> dict[str, Any]:
        """What httpx's own transport gives httpcore's pool, for HTTP/1.1 without a proxy."""
        limits = self.limits
        return {
            "ssl_context": self.ssl_context,
            "max_connections": limits.max_connections,
            "max_keepalive_connections": limits.max_keepalive_connections,
            "keepalive_expiry": limits.keepalive_expiry,
            "http1": True,
            "http2": False,
            "retries": self.retries,
            "local_address": self.local_address,
            "socket_options": self.socket_options,
        }


class PooledTransport:
    """The constructor of odsc_llm's transports (a base listed before httpx's transport
    class): its pool, the transport's only state, comes from :meth:`_build`."""

    def __init__(
        self,
        *,
        verify: Any = True,
        cert: Any = None,
        trust_env: bool = True,
        limits: httpx.Limits = C.DEFAULT_LIMITS,
        retries: int = 0,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> None:
        # Not httpx's __init__: it would build a stock pool (and an SSL context) first.
        ssl_context = httpx.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)
        settings = PoolSettings(ssl_context, limits, retries, local_address, socket_options)
        self._pool = self._build(settings)

    def _build(self, settings: PoolSettings) -> Any:
        raise NotImplementedError
