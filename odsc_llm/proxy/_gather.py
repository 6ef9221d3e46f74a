"""The upstream leg's writes, gathered: a request's head and body go out as one write.

(The upstream leg's transport when aiohttp is not installed: aiohttp's writer gathers
a request's head and body itself.)

httpcore writes a request's head, then its body, each through the network stream; on
asyncio each write is a system call, a turn of the event loop (anyio yields on every
send) and a wake-up of the deployment's side, which finds half a request. The stream
here keeps the writes until the first read (httpcore always reads the answer after
sending the whole request) or until ``PROXY_GATHER_BYTES`` are waiting (a large body is
not held whole), then writes them as one. Nothing else changes: reads, closing and
TLS are the deadline stream's, which this one extends.

:class:`GatheringTransport` is odsc_llm's async transport with these streams: the
deadline backend's ``stream_class`` (the streams stay capped to the call's deadline).
"""

from __future__ import annotations

from typing import Any

import httpcore

from .. import _constants as C
from .._transport._async_backend import AsyncCappedStream, AsyncDeadlineBackend
from .._transport._transports import AsyncHTTPTransport

__all__ = ["GatheringBackend", "GatheringStream", "GatheringTransport"]


class GatheringStream(AsyncCappedStream):
    """A deadline-capped connection whose writes wait for the first read (or the bound)."""

    __slots__ = ("_pending", "_size")

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        super().__init__(stream)
        self._pending: list[bytes] = []
        self._size = 0

    async def _flush(self, timeout: float | None) -> None:
        if self._pending:
            data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
            self._pending, self._size = [], 0
            await super().write(data, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        self._pending.append(buffer)
        self._size += len(buffer)
        if self._size >= C.PROXY_GATHER_BYTES:
            await self._flush(timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        await self._flush(timeout)
        return await super().read(max_bytes, timeout)

    async def aclose(self) -> None:
        self._pending, self._size = [], 0
        await super().aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        await self._flush(timeout)
        return await super().start_tls(ssl_context, server_hostname, timeout)


class GatheringBackend(AsyncDeadlineBackend):
    """The deadline backend, its connections :class:`GatheringStream` s."""

    stream_class = GatheringStream


class GatheringTransport(AsyncHTTPTransport):
    """odsc_llm's async transport on a :class:`GatheringBackend`."""

    backend_class = GatheringBackend
