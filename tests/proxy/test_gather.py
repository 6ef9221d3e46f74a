"""The upstream leg: a request's head and body in one write; no cookies kept."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx

from odsc_llm import _constants as C
from odsc_llm._transport._transports import pool_of
from odsc_llm.proxy import create_app
from odsc_llm.proxy._forward import Upstream
from odsc_llm.proxy._gather import GatheringBackend, GatheringStream

from ..support.proxy import running


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


def test_the_upstream_client_gathers() -> None:
    client = Upstream().client
    assert isinstance(pool_of(client)._network_backend, GatheringBackend)


@contextlib.contextmanager
def _cookie_setting_deployment(heads: list[bytes]) -> Iterator[str]:
    """Answers every request with JSON and a Set-Cookie; ``heads`` gets each request head."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                data = b""
                while True:
                    while b"\r\n\r\n" not in data:
                        more = conn.recv(65536)
                        if not more:
                            break
                        data += more
                    if b"\r\n\r\n" not in data:
                        break
                    head, _, data = data.partition(b"\r\n\r\n")
                    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                    while len(data) < length:
                        data += conn.recv(65536)
                    data = data[length:]
                    heads.append(head.lower())
                    answer = b'{"choices":[]}'
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                        b"set-cookie: lb=server-1; Path=/\r\ncontent-length: %d\r\n\r\n%s"
                        % (len(answer), answer)
                    )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/ocid1.datasciencemodeldeployment.oc1.iad.x"
    finally:
        listener.close()
        thread.join(10)


def test_a_cookie_a_deployment_sets_never_goes_back_upstream() -> None:
    # One upstream client serves every caller: a cookie kept from one caller's answer
    # would travel with the next caller's request.
    heads: list[bytes] = []
    with _cookie_setting_deployment(heads) as deployment:
        app = create_app(deployment, auth=httpx.BasicAuth("u", "p"))
        with running(app) as url, httpx.Client(timeout=10) as caller:
            for _ in range(2):
                answer = caller.post(f"{url}/v1/chat/completions", json={"model": "m"})
                assert answer.status_code == 200
    assert len(heads) == 2
    assert all(b"\r\ncookie:" not in head for head in heads)
