"""The upstream leg: on aiohttp when it is installed, else httpx's transport with
gathered writes; on both, a request's head and body in one write and no cookies kept."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from typing import Any

import httpcore
import httpx
import pytest

from odsc_llm import _constants as C
from odsc_llm._transport._aiohttp import AiohttpTransport
from odsc_llm._transport._transports import pool_of
from odsc_llm.proxy import create_app
from odsc_llm.proxy._forward import Upstream
from odsc_llm.proxy._gather import GatheringBackend, GatheringStream
from odsc_llm.types.params import Transport

from ..support.proxy import running
from ..support.raw_server import raw_deployment


class _Recording(httpcore.AsyncNetworkStream):
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return b"answer"

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.writes.append(buffer)

    async def aclose(self) -> None:
        self.closed = True

    def get_extra_info(self, info: str) -> Any:
        return "extra" if info == "socket" else None


async def test_head_and_body_go_out_as_one_write_before_the_answer_is_read() -> None:
    real = _Recording()
    stream = GatheringStream(real)
    await stream.write(b"POST /predict HTTP/1.1\r\ncontent-length: 2\r\n\r\n")
    await stream.write(b"{}")
    await stream.write(b"")  # h11's end of a content-length body: nothing to send
    assert real.writes == []
    assert await stream.read(65536) == b"answer"
    assert real.writes == [b"POST /predict HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}"]
    assert stream.get_extra_info("socket") == "extra"
    await stream.aclose()
    assert real.closed


async def test_a_large_body_is_not_held_whole() -> None:
    real = _Recording()
    stream = GatheringStream(real)
    piece = b"x" * (C.PROXY_GATHER_BYTES // 2)
    await stream.write(b"head")
    await stream.write(piece)
    assert real.writes == []
    await stream.write(piece)  # now over the bound: written at once
    assert real.writes == [b"head" + piece + piece]
    await stream.write(b"tail")
    await stream.read(1)
    assert real.writes[1:] == [b"tail"]


TRANSPORTS = pytest.mark.parametrize("transport", ["aiohttp", "httpx"])


def test_the_upstream_client_is_on_aiohttp_when_it_is_installed() -> None:
    upstream = Upstream()
    assert upstream.transport == "aiohttp"
    assert isinstance(upstream.client._transport, AiohttpTransport)


def test_without_aiohttp_the_upstream_client_gathers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # as if not installed
    upstream = Upstream()
    assert upstream.transport == "httpx"
    assert isinstance(pool_of(upstream.client)._network_backend, GatheringBackend)


@TRANSPORTS
async def test_the_upstream_request_goes_out_in_one_write(
    transport: Transport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every socket write of this process's asyncio transports, while the request runs:
    # aiohttp's, and anyio's under httpcore.
    writes: list[bytes] = []
    real_write = asyncio.selector_events._SelectorSocketTransport.write  # type: ignore[attr-defined]

    def write(self: Any, data: Any) -> None:
        writes.append(bytes(data))
        real_write(self, data)

    monkeypatch.setattr(asyncio.selector_events._SelectorSocketTransport, "write", write)  # type: ignore[attr-defined]

    def answer(conn: socket.socket, head: bytes, body: bytes) -> bool:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
        )
        return True

    body = b'{"model":"m","messages":[]}'
    with raw_deployment(answer) as deployment:
        app = create_app(deployment, auth=httpx.BasicAuth("u", "p"))
        upstream = Upstream(transport)
        try:
            for _ in range(2):  # a new connection, then a pooled one
                attempted = await upstream.send(
                    app.served.targets, "POST", "/v1/chat/completions",
                    lambda target: body, "application/json", False,
                )  # fmt: skip
                assert (await attempted.response.aread()) == b"{}"
                await upstream.release(attempted)
        finally:
            await upstream.aclose()
    requests = [w for w in writes if w.startswith(b"POST ")]
    assert len(requests) == 2, writes
    assert all(w.endswith(b"\r\n\r\n" + body) for w in requests), writes


def _cookie_setting_deployment(heads: list[bytes]) -> contextlib.AbstractContextManager[str]:
    """Answers every request with JSON and a Set-Cookie; ``heads`` gets each request head."""

    def answer(conn: socket.socket, head: bytes, body: bytes) -> bool:
        heads.append(head.lower())
        reply = b'{"choices":[]}'
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"set-cookie: lb=server-1; Path=/\r\ncontent-length: %d\r\n\r\n%s" % (len(reply), reply)
        )
        return True

    return raw_deployment(answer)


@TRANSPORTS
def test_a_cookie_a_deployment_sets_never_goes_back_upstream(transport: Transport) -> None:
    # One upstream client serves every caller: a cookie kept from one caller's answer
    # would travel with the next caller's request.
    heads: list[bytes] = []
    with _cookie_setting_deployment(heads) as deployment:
        app = create_app(deployment, auth=httpx.BasicAuth("u", "p"))
        app.upstream = Upstream(transport)
        with running(app) as url, httpx.Client(timeout=10) as caller:
            for _ in range(2):
                answer = caller.post(f"{url}/v1/chat/completions", json={"model": "m"})
                assert answer.status_code == 200
    assert len(heads) == 2
    assert all(b"\r\ncookie:" not in head for head in heads)
