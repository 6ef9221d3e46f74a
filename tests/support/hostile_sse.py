"""A small raw-socket HTTP/1.1 server on 127.0.0.1 that misbehaves on purpose.

Each request runs a *script* ``script(w)`` in the connection's thread; the script writes
the answer with ``w.head(...)``, ``w.send(...)``, ``w.end()`` (or stalls, trickles, keeps
talking, resets). Threads, not asyncio, so the same server serves sync and async clients.
Every wait is bounded (``MAX_SCRIPT_SECONDS``), so a client that misbehaves cannot make
the test hang past it.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_SCRIPT_SECONDS", "HostileSSE", "Writer", "chunk_event", "completion_chunk"]

MAX_SCRIPT_SECONDS = 15.0


def completion_chunk(text: str, finish_reason: str | None = None, index: int = 0) -> str:
    """The JSON of one completions stream chunk."""
    return json.dumps(
        {
            "id": "cmpl-hostile",
            "object": "text_completion",
            "created": 1,
            "model": "odsc-llm",
            "choices": [{"index": index, "text": text, "finish_reason": finish_reason}],
        },
        separators=(",", ":"),
    )


def chunk_event(text: str, finish_reason: str | None = None) -> bytes:
    """``data: <chunk>\\n\\n``."""
    return f"data: {completion_chunk(text, finish_reason)}\n\n".encode()


class Writer:
    """What a script writes with: the answer's head, its body pieces, its end."""

    def __init__(self, sock: socket.socket, server: HostileSSE) -> None:
        self.sock = sock
        self.server = server
        self.chunked = True
        self.sent = 0
        self.broken = False  # the client went away (a send failed)
        self.keep_alive = True

    def head(
        self,
        status: int = 200,
        content_type: str = "text/event-stream",
        *,
        length: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        lines = [f"HTTP/1.1 {status} X", f"content-type: {content_type}"]
        lines.append("opc-request-id: hostile-1")
        if length is None:
            lines.append("transfer-encoding: chunked")
        else:
            self.chunked = False
            lines.append(f"content-length: {length}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.raw(("\r\n".join(lines) + "\r\n\r\n").encode())

    def raw(self, data: bytes) -> bool:
        """Write bytes as they are; False once the client has gone."""
        if self.broken:
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            self.broken = True
            return False
        self.sent += len(data)
        return True

    def send(self, data: bytes) -> bool:
        """One piece of the body (an HTTP chunk when chunked)."""
        if not data:
            return not self.broken
        if self.chunked:
            return self.raw(b"%x\r\n%s\r\n" % (len(data), data))
        return self.raw(data)

    def end(self, last: bytes = b"") -> None:
        """The end of a chunked body (the connection may then serve another request),
        in one write with the ``last`` piece of the body, if any."""
        if not self.chunked:
            self.raw(last)
            return
        framed = b"%x\r\n%s\r\n" % (len(last), last) if last else b""
        self.raw(framed + b"0\r\n\r\n")

    def trickle(self, data: bytes, every: float, *, until: float = MAX_SCRIPT_SECONDS) -> None:
        """Send ``data`` again and again every ``every`` s until the client goes away."""
        stop = time.monotonic() + until
        while time.monotonic() < stop and self.send(data):
            time.sleep(every)
        self.keep_alive = False

    def stall(self, seconds: float = MAX_SCRIPT_SECONDS) -> None:
        """Send nothing, keep the connection open, until the client closes it (or time)."""
        self.sock.settimeout(0.05)
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            try:
                if self.sock.recv(1024) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        self.keep_alive = False

    def reset(self) -> None:
        """Abort the connection with a TCP RST."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.keep_alive = False


Script = Callable[[Writer], Any]


class HostileSSE:
    """``with HostileSSE(script) as server: ... server.url``; counts its connections."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.requests = 0
        self.writers: list[Writer] = []
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> HostileSSE:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=MAX_SCRIPT_SECONDS + 1)
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while not self._stop.is_set():
                conn.settimeout(MAX_SCRIPT_SECONDS)
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                buffer = buffer[length:]
                self.requests += 1
                writer = Writer(conn, self)
                self.writers.append(writer)
                self.script(writer)
                if not writer.keep_alive or writer.broken:
                    return
        except OSError:
            return
        finally:
            conn.close()
