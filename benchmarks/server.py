"""A fast, do-nothing model deployment for the benchmarks (loopback only).

It answers every ``POST`` with either one vLLM-shaped completion (JSON) or, when the
body says ``"stream": true``, an SSE stream of ``max_tokens`` completion chunks sent
with chunked transfer encoding (one HTTP chunk per event, as vLLM behind the OCI
gateway does), ending with ``data: [DONE]``. It checks nothing (no signature, no
path), so what the benchmark measures is the client.

It is a raw ``asyncio.Protocol`` HTTP/1.1 server rather than an ASGI app: with nothing
between the socket and the canned answers, the server costs a few microseconds per
request and the client dominates every figure. Answers are cached per size.

Two control paths serve the fan-out figure (``benchmarks/fanout.py``): a ``POST`` to
``/_bench/hold`` with ``{"n": N}`` makes the server hold the next N stream answers until
all N requests have arrived (so every client really holds N streams open at once: with
instant answers, httpcore's stock pool hands a finished connection to the next queued
request and opens only a few), and resets the peak count of open connections; a ``GET``
of ``/_bench/stats`` reports ``{"open": ..., "peak": ...}`` since that reset.

Run it on its own with ``python -m benchmarks.server`` (it prints ``PORT <n>`` and
stops after ``--max-seconds``), or use :func:`running_server` from the harness.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import cast

#: Upper bound on the chunks of one stream (bounded work whatever a client asks).
MAX_CHUNKS = 200_000
#: Upper bound on one request's head or body (the server is loopback-only and for us).
MAX_REQUEST_BYTES = 1 << 20

_CREATED = 1732700000
_request_ids = itertools.count(1)


def completion_body(n_tokens: int = 16) -> bytes:
    """One non-streaming vLLM completion answer."""
    return json.dumps(
        {
            "id": "cmpl-bench0000000000000000000000000000",
            "object": "text_completion",
            "created": _CREATED,
            "model": "odsc-llm",
            "choices": [
                {
                    "index": 0,
                    "text": " Activation functions decide how much of its input a neuron passes.",
                    "logprobs": None,
                    "finish_reason": "length",
                    "stop_reason": None,
                    "prompt_logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": 7,
                "total_tokens": 7 + n_tokens,
                "completion_tokens": n_tokens,
                "prompt_tokens_details": None,
            },
        },
        separators=(",", ":"),
    ).encode()


def stream_events(n_chunks: int) -> list[bytes]:
    """The SSE events of one stream: ``n_chunks`` completion chunks, then ``[DONE]``."""
    events = []
    for i in range(n_chunks):
        last = i == n_chunks - 1
        chunk = {
            "id": "cmpl-bench0000000000000000000000000000",
            "object": "text_completion",
            "created": _CREATED,
            "model": "odsc-llm",
            "choices": [
                {
                    "index": 0,
                    "text": f" tok{i % 100}",
                    "logprobs": None,
                    "finish_reason": "length" if last else None,
                    "stop_reason": None,
                }
            ],
        }
        events.append(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def _chunked(events: list[bytes]) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(e), e) for e in events]
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


class _Answers:
    """Canned answers, built once per size, and the state the control paths share."""

    def __init__(self) -> None:
        self._json = completion_body()
        self._streams: dict[int, bytes] = {}
        self.open = 0  # connections open now that carried a client's request (not control)
        self.peak = 0  # the most open at once since the last /_bench/hold
        self.hold_left = 0  # stream answers still to hold before releasing them all
        self.held: list[tuple[_HTTPProtocol, bytes, bool]] = []

    def connected(self, delta: int) -> None:
        self.open += delta
        if self.open > self.peak:
            self.peak = self.open

    def control(self, path: str, body: bytes) -> bytes:
        """The answer to a ``/_bench/...`` request."""
        if path.startswith("/_bench/hold"):
            try:
                n = int(json.loads(body or b"{}").get("n", 0))
            except (ValueError, TypeError, AttributeError):
                return _BAD_REQUEST
            self.release_held()
            self.hold_left = max(0, min(n, 100_000))
            self.peak = self.open
            return _json_response(b'{"ok":true}')
        if path.startswith("/_bench/stats"):
            stats = {"open": self.open, "peak": self.peak, "holding": self.hold_left}
            return _json_response(json.dumps(stats).encode())
        return _BAD_REQUEST

    def hold(self, protocol: _HTTPProtocol, answer: bytes, close: bool) -> bool:
        """Hold ``answer`` while the gate is armed; at the Nth, release all. False when
        not holding (the caller writes it now)."""
        if self.hold_left <= 0:
            return False
        self.held.append((protocol, answer, close))
        self.hold_left -= 1
        if self.hold_left == 0:
            self.release_held()
        return True

    def release_held(self) -> None:
        held, self.held = self.held, []
        for protocol, answer, close in held:
            protocol.write(answer, close)

    def json_answer(self, request_id: int, keep_alive: bool) -> bytes:
        head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nopc-request-id: bench-%d\r\n%s\r\n"
            % (len(self._json), request_id, b"" if keep_alive else b"connection: close\r\n")
        )
        return head + self._json

    def stream_answer(self, n_chunks: int, request_id: int, keep_alive: bool) -> bytes:
        body = self._streams.get(n_chunks)
        if body is None:
            body = _chunked(stream_events(n_chunks))
            if len(self._streams) < 64:
                self._streams[n_chunks] = body
        head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n"
            b"opc-request-id: bench-%d\r\n%s\r\n"
            % (request_id, b"" if keep_alive else b"connection: close\r\n")
        )
        return head + body


_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def _json_response(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
        % len(body)
    ) + body


class _HTTPProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive server: Content-Length or chunked request bodies."""

    def __init__(self, answers: _Answers) -> None:
        self._answers = answers
        self._counted = False  # in the open count: it carried a request of a client
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not an isinstance check: uvloop's TCPTransport (used when installed)
        # is no subclass of asyncio.Transport, and an assert here dropped every connection.
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # See DESIGN's note: without TCP_NODELAY small answers can stall ~40 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        while self._transport is not None and self._handle_one():
            pass
        if len(self._buf) > MAX_REQUEST_BYTES and self._transport is not None:
            self._transport.write(_BAD_REQUEST)
            self._transport.close()

    def _handle_one(self) -> bool:
        """Answer one complete request from the buffer; False when more bytes are needed."""
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(buf[:end]).decode("latin-1").split("\r\n")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = end + 4
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = bytearray()
            pos = start
            while True:
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    return False
                size = int(bytes(buf[pos:line_end]).split(b";")[0], 16)
                if size == 0:
                    trailer_end = buf.find(b"\r\n\r\n", line_end)
                    if trailer_end < 0:
                        return False
                    consumed = trailer_end + 4
                    break
                if len(buf) < line_end + 2 + size + 2:
                    return False
                body += buf[line_end + 2 : line_end + 2 + size]
                pos = line_end + 2 + size + 2
        else:
            length = int(headers.get("content-length", "0") or 0)
            if len(buf) < start + length:
                return False
            body = buf[start : start + length]
            consumed = start + length
        del buf[:consumed]
        self._answer(head[0], headers, bytes(body))
        return True

    def _answer(self, request_line: str, headers: dict[str, str], body: bytes) -> None:
        transport = self._transport
        assert transport is not None
        keep_alive = headers.get("connection", "").lower() != "close"
        path = request_line.split(" ")[1] if request_line.count(" ") >= 2 else "/"
        if path.startswith("/_bench/"):
            transport.write(self._answers.control(path, body))
            return
        if not self._counted:
            self._counted = True
            self._answers.connected(1)
        request_id = next(_request_ids)
        stream = False
        n_chunks = 16
        if body:
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
            if isinstance(payload, dict):
                stream = payload.get("stream") is True
                try:
                    n_chunks = int(payload.get("max_tokens") or 16)
                except (TypeError, ValueError):
                    n_chunks = 16
        if stream:
            n_chunks = max(1, min(n_chunks, MAX_CHUNKS))
            answer = self._answers.stream_answer(n_chunks, request_id, keep_alive)
            if self._answers.hold(self, answer, not keep_alive):
                return  # sent when the last of the held requests arrives
            transport.write(answer)
        else:
            transport.write(self._answers.json_answer(request_id, keep_alive))
        if not keep_alive:
            transport.close()
            self._transport = None

    def write(self, data: bytes, close: bool = False) -> None:
        """Send ``data`` if the connection is still open (a held answer's may not be)."""
        if self._transport is not None:
            self._transport.write(data)
            if close:
                self._transport.close()
                self._transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._counted:
            self._counted = False
            self._answers.connected(-1)


async def serve(port: int, max_seconds: float, ready: socket.socket | None = None) -> None:
    """Serve on 127.0.0.1:``port`` (0 picks one) for at most ``max_seconds``."""
    loop = asyncio.get_running_loop()
    answers = _Answers()
    server = await loop.create_server(
        lambda: _HTTPProtocol(answers), host="127.0.0.1", port=port, backlog=4096
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    async with server:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.serve_forever(), timeout=max_seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.max_seconds))


@contextlib.contextmanager
def running_server(max_seconds: float = 900.0) -> Iterator[str]:
    """Start the server in a separate process; yield its base URL; stop it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.server", "--max-seconds", str(max_seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        line = proc.stdout.readline()
        if not line.startswith("PORT ") or time.monotonic() > deadline:
            raise RuntimeError(f"benchmark server did not start (said {line!r})")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
