"""Writes to the caller gathered per turn of the event loop: an answer's headers and its
first token reach the caller together, in one write."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import Any

import httpx
from pytest_httpx import HTTPXMock

from odsc_llm.proxy import create_app
from odsc_llm.proxy._coalesce import CoalescingTransport
from odsc_llm.proxy._forward import Upstream

from ..support.proxy import running
from ..support.raw_server import raw_deployment


class _Recorder:
    """The real transport's part: what was written, one item per write call."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


def _wrapped() -> tuple[CoalescingTransport, _Recorder]:
    real = _Recorder()
    return CoalescingTransport(real, asyncio.get_running_loop()), real  # type: ignore[arg-type]


async def test_writes_in_one_turn_go_out_as_one_write() -> None:
    transport, real = _wrapped()
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(bytearray(b"5\r\nhello\r\n"))
    transport.write(b"")  # nothing to send: no write
    assert real.writes == []  # not before the turn ends...
    assert transport.get_write_buffer_size() == 29
    await asyncio.sleep(0)
    assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\n5\r\nhello\r\n"]  # ...then at once, as one
    transport.write(b"next")
    await asyncio.sleep(0)
    assert real.writes[1:] == [b"next"]


async def test_close_sends_what_was_written_first() -> None:
    transport, real = _wrapped()
    transport.write(b"last words")
    transport.close()
    assert real.writes == [b"last words"] and real.closed
    transport.write(b"too late")
    await asyncio.sleep(0)
    assert real.writes == [b"last words"]  # a closed transport is not written to


async def test_everything_else_is_the_real_transports() -> None:
    transport, real = _wrapped()
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
    assert transport.is_closing() is False
    real.closed = True
    assert transport.is_closing() is True


# ---- the served proxy: headers and the first token in one piece -----------------------

#: The deployment's pause between its answer's headers and its first token.
PAUSE = 0.3


def _slow_first_token() -> contextlib.AbstractContextManager[str]:
    """A deployment that sends its stream's headers at once and its first token PAUSE
    seconds later (a model thinking), then ends the stream; yields its URL."""

    def answer(conn: socket.socket, head: bytes, body: bytes) -> bool:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        )
        time.sleep(PAUSE)
        for event in (b'data: {"first":1}\n\n', b"data: [DONE]\n\n"):
            conn.sendall(b"%x\r\n%s\r\n" % (len(event), event))
        conn.sendall(b"0\r\n\r\n")
        return False

    return raw_deployment(answer)


def test_headers_wait_for_the_first_token_and_go_with_it() -> None:
    with _slow_first_token() as deployment:
        app = create_app(deployment, auth=httpx.BasicAuth("u", "p"))
        with running(app) as url:
            host, port = url.removeprefix("http://").split(":")
            body = b'{"model":"m","stream":true,"messages":[]}'
            with socket.create_connection((host, int(port)), timeout=10) as caller:
                caller.sendall(
                    b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n"
                    b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                    % (len(body), body)
                )
                first = caller.recv(65536)
                rest = b""
                while not rest.endswith(b"0\r\n\r\n"):
                    more = caller.recv(65536)
                    if not more:
                        break
                    rest += more
    # The first piece the caller receives holds both: the headers were not sent alone
    # (waking the caller for nothing) while the deployment was still thinking.
    assert first.startswith(b"HTTP/1.1 200 ") and b'data: {"first":1}' in first
    assert b"data: [DONE]" in first + rest


# ---- the ASGI app alone: one task, and the headers held for the first body message ----


async def test_the_answer_is_sent_from_the_callers_task_with_its_headers_held(
    httpx_mock: HTTPXMock,
) -> None:
    stream = b'data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n'
    httpx_mock.add_response(headers={"content-type": "text/event-stream"}, content=stream)
    app = create_app(
        "http://127.0.0.1:9/ocid1.datasciencemodeldeployment.oc1.iad.x",
        auth=httpx.BasicAuth("u", "p"),
    )
    app.upstream = Upstream("httpx")  # the transport pytest-httpx mocks
    body = b'{"model":"m","stream":true,"messages":[]}'
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop()
        await done.wait()
        return {"type": "http.disconnect"}

    sent: list[tuple[str, object, int]] = []
    turns = 0

    def tick() -> None:
        nonlocal turns
        turns += 1
        if not done.is_set():
            asyncio.get_running_loop().call_soon(tick)

    async def send(message: dict[str, Any]) -> None:
        sent.append((message["type"], asyncio.current_task(), turns))
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": [(b"content-type", b"application/json")],
    }
    asyncio.get_running_loop().call_soon(tick)
    try:
        await app(scope, receive, send)
    finally:
        done.set()
        await app.aclose()
    assert {task for _, task, _ in sent} == {asyncio.current_task()}  # no task of its own
    (start, first) = sent[:2]
    assert (start[0], first[0]) == ("http.response.start", "http.response.body")
    assert start[2] == first[2]  # in the same turn of the event loop: one write
