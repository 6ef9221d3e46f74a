"""The upstream leg's writes, gathered: a request's head and body go out as one write.

httpcore writes a request's head, then its body, each through the network stream; on
asyncio each write is a system call, a turn of the event loop (anyio yields on every
send) and a wake-up of the deployment's side, which finds half a request. The stream
here keeps the writes until the first read (httpcore always reads the answer after
sending the whole request) or until ``PROXY_GATHER_BYTES`` are waiting (a large body is
not held whole), then writes them as one. Nothing else changes: reads, closing and
TLS are the wrapped stream's (the deadline stream of odsc_llm's transport).

:func:`gathering` puts it under odsc_llm's upstream transport. The pool's backend is a
private attribute of httpcore's pool; where it is not there (another httpcore), the
transport is left as it is and works as before, only without gathering.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from .. import _constants as C

__all__ = ["GatheringBackend", "gathering"]


class _GatheringStream(httpcore.AsyncNetworkStream):
    __slots__ = ("_pending", "_size", "_stream")

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._pending: list[bytes] = []
        self._size = 0

    async def _flush(self, timeout: float | None) -> None:
        if self._pending:
            data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
            self._pending, self._size = [], 0
            await self._stream.write(data, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        self._pending.append(buffer)
        self._size += len(buffer)
        if self._size >= C.PROXY_GATHER_BYTES:
            await self._flush(timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        await self._flush(timeout)
        return await self._stream.read(max_bytes, timeout)

    async def aclose(self) -> None:
        self._pending, self._size = [], 0
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        await self._flush(timeout)
        return _GatheringStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GatheringBackend(httpcore.AsyncNetworkBackend):
    """A network backend whose streams gather their writes (see the module's text)."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _GatheringStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return _GatheringStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def gathering(transport: httpx.AsyncHTTPTransport) -> httpx.AsyncHTTPTransport:
    """``transport`` with its pool's connections on a :class:`GatheringBackend`."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.AsyncNetworkBackend) and not isinstance(
        backend, GatheringBackend
    ):
        pool._network_backend = GatheringBackend(backend)  # type: ignore[union-attr]
    return transport
