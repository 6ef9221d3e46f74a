# Generated from odsc_llm/_transport/_async_backend.py by scripts/unasync.py: edit that file, then run
# `python scripts/unasync.py`. (CI fails when this file is stale.)
"""The synchronous deadline backend: httpcore's network backend with every wait capped to
the running call's deadline (:func:`~odsc_llm._transport._deadline.capped`, the I/O-free
core both backends call)."""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

from ._deadline import capped

__all__ = ["CappedStream", "DeadlineBackend"]


class CappedStream(httpcore.NetworkStream):
    """A connection whose reads and writes wait at most until the call's deadline."""

    __slots__ = ("_full", "_stream", "_transport")

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._stream.read(max_bytes, capped(timeout, httpcore.ReadTimeout))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, capped(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        # Closing a socket does not wake a thread blocked reading it (Linux), so a call in
        # flight when another thread closes the client would wait for the server, up to
        # its read timeout: shutting the socket down first ends that read at once.
        sock = self._stream.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # not connected any more, or closed already
                sock.shutdown(socket.SHUT_RDWR)
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = capped(timeout, httpcore.ConnectTimeout)
        return type(self)(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """A network backend whose sockets wait at most until the running call's deadline.

    ``stream_class`` wraps each connection: a subclass of :class:`CappedStream` can
    add to it (the proxy's gathers its writes).
    """

    stream_class: type[CappedStream] = CappedStream

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = capped(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return self.stream_class(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout = capped(timeout, httpcore.ConnectTimeout)
        return self.stream_class(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)
