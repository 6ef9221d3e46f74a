"""Deadlines are wall-clock, whatever the server does (hostile servers on real sockets).

Each test bounds its hang generously (``total_timeout + 1 s``); none asserts an
absolute time otherwise. Sync and async twins run the same body (``sync``: the fixture of
tests/conftest.py, the async client on httpx's transport and on aiohttp's).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import odsc_llm
from odsc_llm import _constants as C
from odsc_llm.errors import InvalidRequestError, StreamTimeoutError

from .support import clients
from .support.clients import Twin, async_http, completion_chunk, sse
from .support.hostile import (
    HostileServer,
    stream_pings,
    stream_with_gap,
    trickle_body,
    trickle_headers,
)

ENDPOINT = "http://127.0.0.1:1/ocid1.datasciencemodeldeployment.oc1.iad.x"  # never called
SYNC = pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])


def _timed(action: Callable[[], Any]) -> tuple[BaseException, float]:
    start = time.monotonic()
    with pytest.raises(odsc_llm.APIError) as info:
        action()
    return info.value, time.monotonic() - start


@pytest.mark.parametrize("behaviour", [trickle_headers, trickle_body], ids=["headers", "body"])
def test_total_timeout_bounds_a_trickling_server(sync: bool, behaviour: Any) -> None:
    """timeout=2, total_timeout=3 against one byte a second: APITimeoutError by 3 + 1 s,
    retries included (none can start once the deadline passed)."""
    with HostileServer(behaviour(1.0)) as server:
        twin = Twin(sync, server.url, auth=httpx.Auth(), timeout=2, total_timeout=3)
        try:
            error, elapsed = _timed(lambda: twin.call(prompt="x"))
        finally:
            twin.close()
    assert isinstance(error, odsc_llm.APITimeoutError)
    assert "total_timeout=3" in str(error)
    assert elapsed < 3 + 1


def test_default_total_timeout_derived_from_timeout_bounds_the_body(sync: bool) -> None:
    with HostileServer(trickle_body(0.5)) as server:
        twin = Twin(sync, server.url, auth=httpx.Auth(), timeout=2)
        assert twin.client.total_timeout == 2
        try:
            error, elapsed = _timed(lambda: twin.call(prompt="x"))
        finally:
            twin.close()
    assert isinstance(error, odsc_llm.APITimeoutError)
    assert elapsed < 2 + 1


def test_per_call_total_timeout_bounds_trickled_headers(sync: bool) -> None:
    with HostileServer(trickle_headers(0.5)) as server:
        twin = Twin(sync, server.url, auth=httpx.Auth())  # the default: 600 s
        try:
            error, elapsed = _timed(lambda: twin.call(prompt="x", total_timeout=1.5))
        finally:
            twin.close()
    assert isinstance(error, odsc_llm.APITimeoutError)
    assert elapsed < 1.5 + 1


def test_an_http_client_of_your_own_is_bounded_between_body_chunks(sync: bool) -> None:
    """Its sockets are not ours to cap: the clock is checked between body chunks."""
    with HostileServer(trickle_body(0.25)) as server:
        http: Any = httpx.Client() if sync else async_http()
        twin = Twin(sync, server.url, auth=httpx.Auth(), http_client=http, total_timeout=1.5)
        try:
            error, elapsed = _timed(lambda: twin.call(prompt="x"))
        finally:
            twin.run(http.close() if sync else http.aclose())
            twin.close()
    assert isinstance(error, odsc_llm.APITimeoutError)
    assert elapsed < 1.5 + 1


def test_own_pools_have_their_sockets_capped(sync: bool) -> None:
    """Guards the httpx internals the deadline relies on (an upgrade must not lose it)."""
    from odsc_llm._transport import is_capped, pool_of

    twin = Twin(sync, ENDPOINT, auth=httpx.Auth())
    try:
        assert is_capped(twin.client._http)
        transport = twin.client._http._transport
        if type(transport).__module__ == "odsc_llm._transport._aiohttp":
            assert not sync and clients.ASYNC_TRANSPORT == "aiohttp"
            return  # its reads are capped by the transport itself (tested above)
        backend = pool_of(twin.client._http)._network_backend
        assert type(backend).__module__ == (
            "odsc_llm._transport._backend" if sync else "odsc_llm._transport._async_backend"
        )
    finally:
        twin.close()


# -- streams (first_event_deadline / idle_timeout are the stream helper's: these pass once
# its Stream keywords are merged) -------------------------------------------------------


def test_stream_total_timeout_bounds_the_first_event_despite_pings(sync: bool) -> None:
    with HostileServer(stream_pings(0.2)) as server:
        twin = Twin(sync, server.url, auth=httpx.Auth(), total_timeout=1.5, max_retries=0)
        try:
            error, elapsed = _timed(lambda: twin.stream(prompt="x"))
        finally:
            twin.close()
    assert isinstance(error, StreamTimeoutError)
    assert error.before_first_event
    assert elapsed < 1.5 + 1


def test_stream_idle_timeout_bounds_the_gap_between_content_events(sync: bool) -> None:
    first = sse(completion_chunk("Hel"), done=False)
    with HostileServer(stream_pings(0.2, first=first)) as server:
        twin = Twin(sync, server.url, auth=httpx.Auth(), stream_idle_timeout=1.0)
        received: list[str] = []
        try:
            error, elapsed = _timed(lambda: twin.stream(prompt="x", received=received))
        finally:
            twin.close()
    assert isinstance(error, StreamTimeoutError)
    assert error.partial_text == "Hel" and received == ["Hel"]
    assert elapsed < 1.0 + 1


def test_total_timeout_does_not_bound_a_stream_after_its_first_event(sync: bool) -> None:
    """After the first event only stream_idle_timeout applies (here: the default 600 s)."""
    handler = stream_with_gap(
        sse(completion_chunk("a"), done=False), 1.5, sse(completion_chunk("b", "stop"))
    )
    with HostileServer(handler) as server:
        twin = Twin(sync, server.url, auth=httpx.Auth(), total_timeout=1.0)
        try:
            assert twin.stream(prompt="x") == ["a", "b"]
        finally:
            twin.close()


# -- stream_idle_timeout as an option ----------------------------------------------------


@SYNC
def test_stream_idle_timeout_defaults_to_the_read_timeout(sync: bool) -> None:
    make: Any = odsc_llm.Client if sync else odsc_llm.AsyncClient
    assert make(ENDPOINT, auth=httpx.Auth()).stream_idle_timeout == C.DEFAULT_STREAM_IDLE_TIMEOUT
    assert make(ENDPOINT, auth=httpx.Auth(), timeout=7).stream_idle_timeout == 7
    given = make(ENDPOINT, auth=httpx.Auth(), timeout=7, stream_idle_timeout=3)
    assert given.stream_idle_timeout == 3
    assert make(ENDPOINT, auth=httpx.Auth(), timeout=None).stream_idle_timeout is None
    # A copy with another timeout derives it again, unless it was given.
    assert make(ENDPOINT, auth=httpx.Auth()).copy(timeout=5).stream_idle_timeout == 5
    assert given.copy(timeout=5).stream_idle_timeout == 3


def test_stream_idle_timeout_per_call() -> None:
    client = odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), stream_idle_timeout=9)
    assert client._options({}).idle_timeout == 9
    assert client._options({"stream_idle_timeout": 2}).idle_timeout == 2
    assert client._options({"stream_idle_timeout": None}).idle_timeout is None
    assert client._options({"timeout": 4}).idle_timeout == 4  # that call's read timeout
    assert client._options({"total_timeout": 4}).idle_timeout == 9


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), True, "5"])
def test_bad_stream_idle_timeout_is_refused(bad: Any) -> None:
    with pytest.raises(InvalidRequestError, match="stream_idle_timeout"):
        odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), stream_idle_timeout=bad)
    client = odsc_llm.Client(ENDPOINT, auth=httpx.Auth())
    with pytest.raises(InvalidRequestError, match="stream_idle_timeout"):
        client._options({"stream_idle_timeout": bad})


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), 0, -5])
def test_bad_timeouts_are_refused(bad: float) -> None:
    with pytest.raises(InvalidRequestError, match="timeout"):
        odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), timeout=bad)
    with pytest.raises(InvalidRequestError, match="total_timeout"):
        odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), total_timeout=bad)
