"""The caller's side of the proxy: uvicorn's httptools protocol (h11's without
httptools), and a request offering ``Upgrade: h2c`` (Java's ``HttpClient`` by default)
keeps its body on both."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator

import pytest

from odsc_llm.proxy import create_app
from odsc_llm.proxy._coalesce import protocol_class
from odsc_llm.testing import LocalDeployment

from ..support.proxy import KEY, running
from ..support.raw_server import read_until

#: What Java's java.net.http.HttpClient sends by default on http:// (and curl --http2).
OFFER = (
    b"connection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\n"
    b"http2-settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
)


def _head(body: bytes, offer: bool = True, chunked: bool = False) -> bytes:
    length = b"transfer-encoding: chunked" if chunked else b"content-length: %d" % len(body)
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer %s\r\n"
        b"%scontent-type: application/json\r\n%s\r\n\r\n"
        % (KEY.encode(), OFFER if offer else b"", length)
    )


def _body(text: str) -> bytes:
    return b'{"model":"m","messages":[{"role":"user","content":"%s"}]}' % text.encode()


def _answers(caller: socket.socket, count: int) -> list[bytes]:
    """``count`` chunked answers read from ``caller``."""
    data = b""
    while data.count(b"\r\n0\r\n\r\n") < count:
        more = caller.recv(65536)
        if not more:
            break
        data += more
    return [a + b"\r\n0\r\n\r\n" for a in data.split(b"\r\n0\r\n\r\n")[:count]]


@pytest.fixture
def h11_proxy(monkeypatch: pytest.MonkeyPatch, local: LocalDeployment) -> Iterator[str]:
    """A proxy served as where httptools is not installed."""
    monkeypatch.setitem(sys.modules, "httptools", None)
    app = create_app(local.url, auth=local.auth, api_key=KEY)
    with running(app) as url:
        yield url


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def test_the_protocol_is_httptools_where_it_is_installed() -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    assert issubclass(protocol_class(), HttpToolsProtocol)


def test_without_httptools_it_is_h11(monkeypatch: pytest.MonkeyPatch) -> None:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    monkeypatch.setitem(sys.modules, "httptools", None)
    assert issubclass(protocol_class(), H11Protocol)


@pytest.mark.parametrize("server", ["httptools", "h11"])
def test_an_h2c_offer_is_ignored_and_the_body_forwarded(
    server: str, proxy_url: str, h11_proxy: str, local: LocalDeployment
) -> None:
    body = _body("upgrade offered")
    with _connect(proxy_url if server == "httptools" else h11_proxy) as caller:
        caller.sendall(_head(body) + body)
        (answer,) = _answers(caller, 1)
    assert answer.startswith(b"HTTP/1.1 200 ")  # not 101: the offer is ignored (RFC 9110 7.8)
    assert b"You said: upgrade offered" in answer
    (sent,) = local.requests
    assert sent.json()["messages"][0]["content"] == "upgrade offered"


def test_the_body_may_come_after_the_head(proxy_url: str, local: LocalDeployment) -> None:
    body = _body("late body")
    with _connect(proxy_url) as caller:
        caller.sendall(_head(body))
        time.sleep(0.2)  # the head is parsed alone; the body comes in later reads
        caller.sendall(body[:10])
        time.sleep(0.05)
        caller.sendall(body[10:])
        (answer,) = _answers(caller, 1)
    assert b"You said: late body" in answer
    assert local.requests[0].json()["messages"][0]["content"] == "late body"


def test_a_chunked_body_with_an_offer(proxy_url: str, local: LocalDeployment) -> None:
    body = _body("chunked")
    chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:])
    with _connect(proxy_url) as caller:
        caller.sendall(_head(body, chunked=True) + chunks)
        (answer,) = _answers(caller, 1)
    assert b"You said: chunked" in answer


def test_the_connection_serves_requests_after_an_offer(
    proxy_url: str, local: LocalDeployment
) -> None:
    first, second, third = _body("one"), _body("two"), _body("three")
    with _connect(proxy_url) as caller:
        caller.sendall(_head(first) + first)
        (answer,) = _answers(caller, 1)
        assert b"You said: one" in answer
        # Then a plain request and another offer, sent together (pipelined).
        caller.sendall(_head(second, offer=False) + second + _head(third) + third)
        answers = _answers(caller, 2)
    assert [b"You said: two" in answers[0], b"You said: three" in answers[1]] == [True, True]
    said = [r.json()["messages"][0]["content"] for r in local.requests]
    assert said == ["one", "two", "three"]


@pytest.mark.parametrize("server", ["httptools", "h11"])
def test_a_websocket_offer_is_ignored_too(server: str, proxy_url: str, h11_proxy: str) -> None:
    # The proxy serves plain HTTP only: the request is answered as if nothing was offered.
    with _connect(proxy_url if server == "httptools" else h11_proxy) as caller:
        caller.sendall(
            b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\n"
            b"sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        answer = read_until(caller, b'"deployments"')
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b'"ok":true' in answer
