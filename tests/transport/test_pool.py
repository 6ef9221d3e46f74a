"""The clients' own connection pools: one connection per request, linear passes, no
reuse of a socket the server closed (``odsc_llm._transport._pool``).

A property test drives :func:`assign` through random arrivals, starts, ends, cancels
(queued, or just handed a connection), server-side closes and bytes sent past an
answer on a model pool and checks httpcore's rules after every pass;
the real-socket tests run sync and async twins against the emulator and a hostile
server that closes kept-alive connections.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from odsc_llm._transport import _pool, is_linear
from odsc_llm.testing import LocalDeployment

from ..support.clients import COMPLETION, Twin
from ..support.hostile import HostileServer

SYNC = pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])


# -- the model pool ----------------------------------------------------------------------


class FakeConnection:
    """An HTTP/1.1 connection's states as the pool sees them."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.state = "new"  # new -> active -> idle -> active ... or closed
        self.server_closed = False
        self.unread = False  # the server sent bytes past its last answer
        self._connect_failed = False

    @property
    def _connection(self) -> FakeConnection | None:
        """httpcore's HTTPConnection: None until a request opens it."""
        return None if self.state == "new" else self

    @property
    def _h11_state(self) -> FakeConnection:
        return self

    @property
    def trailing_data(self) -> tuple[bytes, bool]:
        """h11's bytes received but not parsed yet."""
        return (b"HTTP/1.1 200 OK\r\n" if self.unread else b"", False)

    def can_handle_request(self, origin: str) -> bool:
        return origin == self.origin

    def is_available(self) -> bool:
        return self.state == "idle"

    def is_idle(self) -> bool:
        return self.state == "idle"

    def is_closed(self) -> bool:
        return self.state == "closed"

    def has_expired(self) -> bool:
        return self.state == "idle" and self.server_closed


class FakeRequest:
    def __init__(self, origin: str) -> None:
        self.request = type("R", (), {"url": type("U", (), {"origin": origin})()})()
        self.connection: FakeConnection | None = None
        self.started = False

    def is_queued(self) -> bool:
        return self.connection is None

    def assign_to_connection(self, connection: FakeConnection) -> None:
        self.connection = connection


class FakePool:
    _sweep_at = 0.0

    def __init__(self, max_connections: int, max_keepalive: int) -> None:
        self._requests: list[FakeRequest] = []
        self._connections: list[FakeConnection] = []
        self._max_connections = max_connections
        self._max_keepalive_connections = max_keepalive
        self.created = 0

    def create_connection(self, origin: str) -> FakeConnection:
        self.created += 1
        return FakeConnection(origin)


def _pass(pool: FakePool) -> None:
    """One assignment pass, its closes applied, and httpcore's rules checked."""
    before = {id(r): r.connection for r in pool._requests}
    closing = _pool.assign(pool)
    for connection in closing:
        assert connection not in pool._connections
        assert all(r.connection is not connection for r in pool._requests)
        connection.state = "closed"
    held = [r.connection for r in pool._requests if r.connection is not None]
    assert len(held) == len({id(c) for c in held}), "a connection was handed out twice"
    stranded = [c for c in pool._connections if c.state == "new" and c not in held]
    assert not stranded, "a connection no request will open keeps its slot"
    assert all(c in pool._connections and not c.is_closed() for c in held)
    assert len(pool._connections) <= pool._max_connections
    free_idle = [c for c in pool._connections if c.is_idle() and c not in held]
    assert len(free_idle) <= pool._max_keepalive_connections
    for request in pool._requests:
        if before.get(id(request)) is None and request.connection is not None:
            assert not request.connection.server_closed, "reused a socket the server closed"
            assert not request.connection.unread, "reused a socket with bytes left unread"
            assert request.connection.can_handle_request(request.request.url.origin)
    if any(r.is_queued() for r in pool._requests):  # only when nothing could be given
        assert len(pool._connections) == pool._max_connections and not free_idle


OPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["arrive", "start", "finish", "finish_close", "cancel", "abandon", "drop", "inject"]
        ),
        st.integers(0, 1000),
        st.sampled_from(["a", "b"]),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(ops=OPS, max_connections=st.integers(1, 6), max_keepalive=st.integers(0, 6))
def test_assign_keeps_the_pools_rules(
    ops: list[tuple[str, int, str]], max_connections: int, max_keepalive: int
) -> None:
    pool = FakePool(max_connections, min(max_keepalive, max_connections))
    for op, pick, origin in ops:
        ready = [r for r in pool._requests if r.connection is not None and not r.started]
        running = [r for r in pool._requests if r.started]
        queued = [r for r in pool._requests if r.is_queued()]
        idle = [c for c in pool._connections if c.is_idle()]
        if op == "arrive":
            pool._requests.append(FakeRequest(origin))
        elif op == "start" and ready:
            request = ready[pick % len(ready)]
            assert request.connection is not None
            request.connection.state = "active"
            request.started = True
            continue  # httpcore runs no pass when a request starts
        elif op in ("finish", "finish_close") and running:
            request = running[pick % len(running)]
            pool._requests.remove(request)
            assert request.connection is not None
            request.connection.state = "idle" if op == "finish" else "closed"
        elif op == "cancel" and queued:
            pool._requests.remove(queued[pick % len(queued)])
        elif op == "abandon" and ready:  # cancelled as it was handed its connection
            pool._requests.remove(ready[pick % len(ready)])
        elif op == "drop" and idle:
            idle[pick % len(idle)].server_closed = True
            continue
        elif op == "inject" and idle:  # bytes past Content-Length, already buffered
            idle[pick % len(idle)].unread = True
            continue
        _pass(pool)


def test_assign_gives_a_freed_connection_to_one_waiting_request() -> None:
    """httpcore 1.0.9 hands an idle connection to every queued request at once."""
    pool = FakePool(max_connections=1, max_keepalive=1)
    first = FakeRequest("a")
    pool._requests.append(first)
    _pass(pool)
    assert first.connection is not None
    first.connection.state = "active"
    waiting = [FakeRequest("a") for _ in range(5)]
    pool._requests.extend(waiting)
    _pass(pool)
    assert all(r.is_queued() for r in waiting)
    pool._requests.remove(first)
    first.connection.state = "idle"
    _pass(pool)
    assert [r.connection is first.connection for r in waiting] == [True] + [False] * 4
    assert pool.created == 1


def _served_once(pool: FakePool) -> FakeConnection:
    """One request run to its end: its connection is idle in the pool."""
    request = FakeRequest("a")
    pool._requests.append(request)
    _pass(pool)
    connection = request.connection
    assert connection is not None
    connection.state = "active"
    pool._requests.remove(request)
    connection.state = "idle"
    _pass(pool)
    return connection


def test_assign_never_reuses_a_connection_with_bytes_left_unread() -> None:
    """A second answer sent past the first one's Content-Length would answer the next
    request on that connection: it gets a new connection instead."""
    pool = FakePool(max_connections=2, max_keepalive=2)
    connection = _served_once(pool)
    connection.unread = True
    request = FakeRequest("a")
    pool._requests.append(request)
    _pass(pool)
    assert request.connection is not connection and pool.created == 2
    assert connection not in pool._connections


def test_assign_frees_the_slot_of_a_connection_its_request_never_opened() -> None:
    """A request cancelled as it is handed a new connection leaves it unopened; the next
    pass drops it, so the slot is free again (encode/httpcore#1093)."""
    pool = FakePool(max_connections=1, max_keepalive=1)
    abandoned = FakeRequest("a")
    pool._requests.append(abandoned)
    _pass(pool)
    pool._requests.remove(abandoned)  # cancelled before it opened its connection
    _pass(pool)
    later = FakeRequest("a")
    pool._requests.append(later)
    _pass(pool)
    assert later.connection is not None and later.connection is not abandoned.connection


# -- real sockets ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local() -> Any:
    with LocalDeployment() as deployment:
        yield deployment


def _count_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    passes = [0]
    real = _pool.assign

    def counting(pool: Any) -> Any:
        passes[0] += 1
        return real(pool)

    monkeypatch.setattr(_pool, "assign", counting)
    return passes


@SYNC
def test_many_requests_in_flight_cost_two_pool_passes_each(
    sync: bool, local: LocalDeployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request's start and its end are the pool's only passes: no connection is
    handed to two requests, so none goes round again (httpcore 1.0.9 made ~9 passes
    per request at 64 in flight on a busy loop)."""
    local.reset()
    local.token_delay = 0.002
    passes = _count_passes(monkeypatch)
    requests, width = 240, 48
    twin = Twin(sync, local.deployment, auth=local.auth)
    try:
        assert is_linear(twin.client._http)
        if sync:
            with ThreadPoolExecutor(width) as pool:
                answers = list(
                    pool.map(lambda i: twin.call(prompt=f"p{i}", max_tokens=3), range(requests))
                )
        else:

            async def run() -> list[Any]:
                gate = asyncio.Semaphore(width)

                async def one(i: int) -> Any:
                    async with gate:
                        return await twin.client.completions.create(prompt=f"p{i}", max_tokens=3)

                return await asyncio.gather(*(one(i) for i in range(requests)))

            answers = twin.run(run())
        connections = len(twin.client._http._transport._pool._connections)
    finally:
        twin.close()
        local.token_delay = 0.0
    assert len(answers) == requests and all(a.choices[0].text for a in answers)
    assert passes[0] <= 2 * requests + width  # a little slack for a rare reconnect
    assert connections <= width


def _close_after_each_answer(delay: float) -> Any:
    """Answers one request per connection with keep-alive, then closes it ``delay`` s
    later (as a load balancer's idle timeout does)."""
    body = json.dumps(COMPLETION).encode()

    async def handler(server: HostileServer, reader: Any, writer: Any) -> None:
        await server.read_request(reader)
        head = (
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        )
        await server.write(writer, head.encode() + body)
        await asyncio.sleep(delay)

    return handler


def test_a_connection_the_server_closed_is_not_reused(sync: bool) -> None:
    """The second call must not be sent on the socket the server closed in between
    (it would fail with 'server disconnected'); max_retries=0, so no retry hides it.
    ``sync``: tests/conftest.py's fixture, the async client on both transports."""
    with HostileServer(_close_after_each_answer(0.05)) as server:
        twin = Twin(sync, server.url, auth=httpx.Auth(), max_retries=0)
        try:
            first = twin.call(prompt="one")
            threading.Event().wait(0.3)  # the server has closed the kept-alive socket
            second = twin.call(prompt="two")
        finally:
            twin.close()
    assert first.choices[0].text == second.choices[0].text == "Hello!"
    assert server.connections == 2


@SYNC
def test_a_callers_own_http_client_is_left_alone(sync: bool, local: LocalDeployment) -> None:
    http = httpx.Client() if sync else httpx.AsyncClient()
    twin = Twin(sync, local.deployment, auth=local.auth, http_client=http)
    try:
        assert not is_linear(http)
        assert twin.call(prompt="hi", max_tokens=2).choices[0].text
    finally:
        if isinstance(http, httpx.AsyncClient):
            twin.run(http.aclose())
        else:
            http.close()
        twin.close()
