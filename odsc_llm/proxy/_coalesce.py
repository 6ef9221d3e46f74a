"""Writes to a caller made in one turn of the event loop, sent as one.

uvicorn writes each ASGI message to the socket as it is sent: an answer's headers,
then its first body piece, then (a short answer) its end, each a system call and each
a wake-up of the caller, which then competes with the proxy for the CPU while the
proxy prepares the next piece. :class:`CoalescingTransport` keeps what is written in
one turn of the loop and writes it all at the start of the next turn (``call_soon``:
no timer, nothing waits for more data), so an answer's headers and first token reach
the caller in one segment. uvicorn accepts an ``asyncio.Protocol`` class as its
``http`` setting; :func:`protocol_class` is uvicorn's h11 protocol on this transport.

The protocol is uvicorn's httptools one (llhttp, a C parser) when httptools is
installed, else its h11 one. httptools has a bug the proxy's callers meet: a request
offering ``Upgrade: h2c`` reaches the app with an empty body (uvicorn issue #2722,
httptools issue #124: its parser treats the body as the new protocol's bytes), and
Java's ``java.net.http.HttpClient`` makes that offer by default. The protocol here
ignores such an offer, as RFC 9110 7.8 lets a server do: it parses the request again
without it, so the body reaches the app (see ``_replay``).
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


#: What an upgrade offer adds to a request (the Connection tokens too).
_OFFER = (b"upgrade", b"http2-settings")


def _without_upgrade(scope: dict[str, Any], url: bytes) -> bytes:
    """The head of the request ``scope`` describes, without its upgrade offer."""
    lines = [b"%s %s HTTP/%s" % (scope["method"].encode(), url, scope["http_version"].encode())]
    for name, value in scope["headers"]:
        if name in _OFFER:
            continue
        if name == b"connection":
            tokens = [t.strip() for t in value.split(b",")]
            value = b", ".join(t for t in tokens if t.lower() not in _OFFER)
            if not value:
                continue
        lines.append(name + b": " + value)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _httptools_protocol() -> type[asyncio.Protocol]:
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class CoalescingHttpToolsProtocol(HttpToolsProtocol):
        #: While a request is parsed again without its upgrade offer (``_replay``).
        _replaying = False

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            loop = asyncio.get_running_loop()
            super().connection_made(CoalescingTransport(transport, loop))  # type: ignore[arg-type]

        def data_received(self, data: bytes) -> None:
            # uvicorn's, but for an upgrade offer: the proxy serves plain HTTP only
            # (no websockets: uvicorn_options' ws="none"), so every offer is ignored.
            self._unset_keepalive_if_required()
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade as exc:
                self._replay(data[exc.args[0] :])
            except httptools.HttpParserError:
                self._replaying = False
                message = "Invalid HTTP request received."
                self.logger.warning(message)
                self.send_400_response(message)

        def _replay(self, rest: bytes) -> None:
            """The parser stopped at the end of the head of a request offering an
            upgrade, having told uvicorn the request was complete with no body (the
            app's task is made, not yet run: this is the same call of data_received).
            A new parser reads that head again without the offer, then ``rest`` (the
            body, and what follows): its body goes to the same request. (What
            httptools' parser does at an offer is pinned by tests/proxy/test_upgrade_offer.)"""
            cycle = self.cycle
            cycle.more_body = True
            cycle.message_event.clear()
            self.parser = httptools.HttpRequestParser(self)
            self._replaying = True
            self.data_received(_without_upgrade(cycle.scope, self.url) + rest)  # type: ignore[arg-type]

        # While replaying, the head's callbacks are the original request's: skipped.
        def on_message_begin(self) -> None:
            if not self._replaying:
                super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            if not self._replaying:
                super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            if not self._replaying:
                super().on_header(name, value)

        def on_headers_complete(self) -> None:
            if self._replaying:
                self._replaying = False
            else:
                super().on_headers_complete()

    return CoalescingHttpToolsProtocol


def protocol_class() -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol (h11's without httptools), on a
    :class:`CoalescingTransport`."""
    try:
        return _httptools_protocol()
    except ImportError:
        pass
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class CoalescingProtocol(H11Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            loop = asyncio.get_running_loop()
            super().connection_made(CoalescingTransport(transport, loop))  # type: ignore[arg-type]

    return CoalescingProtocol
