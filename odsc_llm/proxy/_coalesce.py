"""Writes to a caller made in one turn of the event loop, sent as one.

uvicorn writes each ASGI message to the socket as it is sent: an answer's headers,
then its first body piece, then (a short answer) its end, each a system call and each
a wake-up of the caller, which then competes with the proxy for the CPU while the
proxy prepares the next piece. :class:`CoalescingTransport` keeps what is written in
one turn of the loop and writes it all at the start of the next turn (``call_soon``:
no timer, nothing waits for more data), so an answer's headers and first token reach
the caller in one segment. uvicorn accepts an ``asyncio.Protocol`` class as its
``http`` setting; :func:`protocol_class` is uvicorn's h11 protocol on this transport.

Always h11, never httptools (which uvicorn's ``http="auto"`` picks when it is
installed, as ``uvicorn[standard]`` and ``fastapi[standard]`` do): on httptools, a
request offering ``Upgrade: h2c`` reaches the app with an empty body (uvicorn issue
#2722, httptools issue #124, open), and Java's ``java.net.http.HttpClient`` makes that
offer by default, so every Java caller's request would go upstream without its body.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["CoalescingTransport", "protocol_class"]


class CoalescingTransport:
    """An ``asyncio.Transport`` stand-in: ``write`` gathers; the next turn of the loop
    sends what was gathered in one write. Everything else is the real transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for data in chunks:
            self.write(data)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return sum(map(len, self._pending)) + self._transport.get_write_buffer_size()

    def close(self) -> None:
        self._flush()  # what was written before close() still goes, as it would have
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def protocol_class() -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, on a :class:`CoalescingTransport`."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class CoalescingProtocol(H11Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            loop = asyncio.get_running_loop()
            super().connection_made(CoalescingTransport(transport, loop))  # type: ignore[arg-type]

    return CoalescingProtocol
