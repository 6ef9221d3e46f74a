# unasync: async only
# The one source of both deadline backends: scripts/unasync.py writes _backend.py (the
# sync one) from this file. Edit this file, then run it.
# unasync: end
"""The asynchronous deadline backend: httpcore's network backend with every wait capped to
the running call's deadline (:func:`~odsc_llm._transport._deadline.capped`, the I/O-free
core both backends call)."""

from __future__ import annotations

# unasync: sync only
# import contextlib
# import socket
# unasync: end
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

# unasync: async only
from .. import _constants as C

# unasync: end
from ._deadline import capped

__all__ = ["AsyncCappedStream", "AsyncDeadlineBackend"]


class AsyncCappedStream(httpcore.AsyncNetworkStream):
    """A connection whose reads and writes wait at most until the call's deadline."""

    __slots__ = ("_full", "_stream", "_transport")

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        # unasync: async only
        self._transport, self._full = _small_first_reads(stream)
        # unasync: end

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = await self._stream.read(max_bytes, capped(timeout, httpcore.ReadTimeout))
        # unasync: async only
        transport = self._transport
        if transport is not None:  # the socket's reads grow back to full size
            size = transport.max_size * 2
            if size >= self._full:
                size, self._transport = self._full, None
            transport.max_size = size
        # unasync: end
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, capped(timeout, httpcore.WriteTimeout))

    # unasync: async only
    async def aclose(self) -> None:
        await self._stream.aclose()

    # unasync: end
    # unasync: sync only
    # def close(self) -> None:
    #     # Closing a socket does not wake a thread blocked reading it (Linux), so a call in
    #     # flight when another thread closes the client would wait for the server, up to
    #     # its read timeout: shutting the socket down first ends that read at once.
    #     sock = self._stream.get_extra_info("socket")
    #     if sock is not None:
    #         with contextlib.suppress(OSError):  # not connected any more, or closed already
    #             sock.shutdown(socket.SHUT_RDWR)
    #     self._stream.close()
    #
    # unasync: end
    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        timeout = capped(timeout, httpcore.ConnectTimeout)
        return type(self)(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


# unasync: async only
def _small_first_reads(stream: httpcore.AsyncNetworkStream) -> tuple[Any, int]:
    """The asyncio transport under httpcore's anyio stream (through TLS too), its reads
    from the socket made ``FIRST_READ_BYTES`` at most, and its full read size; ``(None,
    0)`` on any other shape (uvloop, trio: their reads stay as they are).

    anyio reads a socket only while a receive waits, but then takes all the kernel holds
    (asyncio's ``recv(max_size)``, 256 KiB): an answer sent whole is read whole, however
    little of it the stream has parsed yet (see ``FIRST_READ_BYTES``).
    """
    layer: Any = getattr(stream, "_stream", None)  # httpcore's AnyIOStream -> anyio's
    layer = getattr(layer, "transport_stream", layer)  # anyio's TLSStream -> its socket
    transport = getattr(layer, "_transport", None)
    full = getattr(transport, "max_size", None)
    if not isinstance(full, int) or full <= C.FIRST_READ_BYTES:
        return None, 0
    try:
        transport.max_size = C.FIRST_READ_BYTES  # type: ignore[union-attr]
    except (AttributeError, TypeError):  # pragma: no cover - a transport without it
        return None, 0
    return transport, full


# unasync: end


class AsyncDeadlineBackend(httpcore.AsyncNetworkBackend):
    """A network backend whose sockets wait at most until the running call's deadline.

    ``stream_class`` wraps each connection: a subclass of :class:`AsyncCappedStream` can
    add to it (the proxy's gathers its writes).
    """

    stream_class: type[AsyncCappedStream] = AsyncCappedStream

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
        timeout = capped(timeout, httpcore.ConnectTimeout)
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return self.stream_class(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        timeout = capped(timeout, httpcore.ConnectTimeout)
        return self.stream_class(
            await self._backend.connect_unix_socket(path, timeout, socket_options)
        )

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)
