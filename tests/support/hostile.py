"""A small raw-socket HTTP/1.1 server on 127.0.0.1 that misbehaves as a test tells it to.

Proxies, load balancers and overloaded model servers trickle headers, trickle bodies,
send huge error pages, redirect, or accept a stream and drop it before any event. Each
behaviour is an ``async def handler(server, reader, writer)``; the server runs them on
its own event loop in a thread, so sync and async clients both can be tested against it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any

OCID = "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaahostile"

Handler = Callable[["HostileServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class HostileServer:
    """``with HostileServer(handler) as server: server.url ...``; ``server.requests``
    holds the head of every request received, ``server.sent`` the body bytes written."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[bytes] = []
        self.sent = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.port = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.origin}/{OCID}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:  # no Nagle stalls (DESIGN: performance notes)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections += 1
        try:
            await self.handler(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away (what these tests provoke), or the server stops
        finally:
            self._tasks.discard(task)
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        """Read one request (head and ``content-length`` body); keep its head."""
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(head)
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length:
            await reader.readexactly(length)
        return head

    async def write(self, writer: asyncio.StreamWriter, data: bytes, body: bool = True) -> None:
        writer.write(data)
        await writer.drain()
        if body:
            self.sent += len(data)

    def __exit__(self, *exc_info: object) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


# -- behaviours --------------------------------------------------------------------------


def trickle_headers(interval: float = 1.0) -> Handler:
    """A status line, then header bytes one at a time, forever."""

    async def handler(server: HostileServer, reader: Any, writer: Any) -> None:
        await server.read_request(reader)
        await server.write(writer, b"HTTP/1.1 200 OK\r\n", body=False)
        while True:
            for byte in b"x-slow: yes\r\n":
                await server.write(writer, bytes([byte]), body=False)
                await asyncio.sleep(interval)

    return handler


def trickle_body(interval: float = 1.0, content_type: bytes = b"application/json") -> Handler:
    """Prompt headers announcing 1,000 bytes, then the body one byte at a time."""

    async def handler(server: HostileServer, reader: Any, writer: Any) -> None:
        await server.read_request(reader)
        head = b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\n"
        await server.write(writer, head + b"content-length: 1000\r\n\r\n", body=False)
        for _ in range(1000):
            await server.write(writer, b" ")
            await asyncio.sleep(interval)

    return handler


def huge_body(status: int, size: int, content_type: bytes = b"text/html") -> Handler:
    """``size`` bytes declared and sent lazily, 64 KB at a time (never allocated whole)."""

    async def handler(server: HostileServer, reader: Any, writer: Any) -> None:
        await server.read_request(reader)
        head = (
            f"HTTP/1.1 {status} Whatever\r\ncontent-length: {size}\r\n".encode()
            + b"content-type: "
            + content_type
            + b"\r\n\r\n"
        )
        await server.write(writer, head, body=False)
        chunk = b"<p>" + b"x" * (64 * 1024 - 3)
        left = size
        while left > 0:
            piece = chunk[: min(left, len(chunk))]
            await server.write(writer, piece)
            left -= len(piece)

    return handler


def redirect(status: int, location: str) -> Handler:
    async def handler(server: HostileServer, reader: Any, writer: Any) -> None:
        await server.read_request(reader)
        head = f"HTTP/1.1 {status} Moved\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n"
        await server.write(writer, head.encode(), body=False)

    return handler


def ok_json(body: bytes) -> Handler:
    """Answers every request with ``body`` (the "other origin" of redirect tests)."""

    async def handler(server: HostileServer, reader: Any, writer: Any) -> None:
        while True:
            await server.read_request(reader)
            head = (
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\n\r\n"
            )
            await server.write(writer, head.encode() + body)

    return handler


SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    b"opc-request-id: hostile-rid\r\nconnection: close\r\n\r\n"
)


def stream_breaks_first(breaks: int, good: bytes, after: bytes = b"") -> Handler:
    """The first ``breaks`` connections get SSE headers (and ``after``), then a close;
    later ones get the stream ``good``."""

    async def handler(server: HostileServer, reader: Any, writer: Any) -> None:
        await server.read_request(reader)
        if len(server.requests) <= breaks:
            await server.write(writer, SSE_HEAD + after)
            return
        await server.write(writer, SSE_HEAD + good)

    return handler


def stream_pings(interval: float = 0.2, first: bytes = b"", limit: float = 6.0) -> Handler:
    """SSE headers, ``first``, then ``: ping`` comments for ``limit`` seconds (a bound so
    that a client that fails to time out fails its test instead of hanging it)."""

    async def handler(server: HostileServer, reader: Any, writer: Any) -> None:
        await server.read_request(reader)
        await server.write(writer, SSE_HEAD + first)
        end = asyncio.get_running_loop().time() + limit
        while asyncio.get_running_loop().time() < end:
            await asyncio.sleep(interval)
            await server.write(writer, b": ping\n\n")

    return handler


def stream_with_gap(first: bytes, gap: float, rest: bytes) -> Handler:
    """SSE headers and ``first`` at once, then silence for ``gap`` seconds, then ``rest``."""

    async def handler(server: HostileServer, reader: Any, writer: Any) -> None:
        await server.read_request(reader)
        await server.write(writer, SSE_HEAD + first)
        await asyncio.sleep(gap)
        await server.write(writer, rest)

    return handler
