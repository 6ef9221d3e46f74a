"""The aiohttp transport's own promises (``odsc_llm._transport._aiohttp``).

What both transports promise (deadlines, idle timeouts, ``[DONE]``, retries and their
signatures, close, permits) is tested on both by the ``sync`` and ``async_transport``
fixtures of tests/conftest.py (tests/streaming, test_deadlines.py, test_retries.py,
test_close.py, test_concurrency.py, tests/transport/test_pool_hazards.py). Here: the
choice of transport, what goes on the wire, aiohttp's failures as odsc_llm's errors, and
connections given back (or closed) when a call is cancelled or a stream closed early.
Real sockets on 127.0.0.1; times are only generous bounds.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Generator
from typing import Any

import httpx
import pytest

import odsc_llm
from odsc_llm import _constants as C
from odsc_llm._transport import is_capped, max_connections
from odsc_llm._transport._aiohttp import AiohttpTransport
from odsc_llm.types.params import Transport

from ..support.clients import COMPLETION, ENDPOINT, checked_out, completion_chunk, sse
from ..support.hostile import HostileServer, ok_json, stream_pings

#: A bound on what must happen "at once" (a loaded 2-core machine).
PROMPT = 5.0
REFUSED = "http://127.0.0.1:1/ocid1.datasciencemodeldeployment.oc1.iad.x"  # nothing listens


class FixedAuth(httpx.Auth):
    """The same signature on every request (so two transports' requests compare equal)."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["authorization"] = "Signature fixed"
        yield request


# -- choosing the transport ---------------------------------------------------------------


@pytest.mark.parametrize("bad", ["requests", "AIOHTTP", "", None, True, 1])
def test_an_unknown_transport_is_refused_naming_the_choices(bad: Any) -> None:
    with pytest.raises(odsc_llm.InvalidRequestError) as info:
        odsc_llm.AsyncClient(ENDPOINT, auth=httpx.Auth(), transport=bad)
    message = str(info.value)
    assert "'httpx'" in message and "'aiohttp'" in message and repr(bad) in message
    assert "pip install 'odsc-llm[aiohttp]'" in message


def test_a_missing_aiohttp_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # `import aiohttp` fails
    for make in (
        lambda: odsc_llm.AsyncClient(ENDPOINT, auth=httpx.Auth(), transport="aiohttp"),
        odsc_llm.aiohttp_client,
    ):
        with pytest.raises(odsc_llm.InvalidRequestError) as info:
            make()
        assert "pip install 'odsc-llm[aiohttp]'" in str(info.value)
        assert "not installed" in str(info.value)
    # The default transport does not need it.
    odsc_llm.AsyncClient(ENDPOINT, auth=httpx.Auth())


def test_transport_aiohttp_with_an_http_client_on_another_transport_is_refused() -> None:
    http = httpx.AsyncClient()
    with pytest.raises(odsc_llm.InvalidRequestError, match=r"aiohttp_client\(\)"):
        odsc_llm.AsyncClient(ENDPOINT, auth=httpx.Auth(), transport="aiohttp", http_client=http)


async def test_the_pool_bounds_the_permits_and_copies_keep_the_transport() -> None:
    own = odsc_llm.AsyncClient(ENDPOINT, auth=httpx.Auth(), transport="aiohttp")
    assert isinstance(own._http._transport, AiohttpTransport) and is_capped(own._http)
    assert max_connections(own._http) == C.DEFAULT_LIMITS.max_connections
    assert own._permits is not None
    assert own._permits._semaphore._value == C.DEFAULT_LIMITS.max_connections
    assert own.copy(timeout=5)._http is own._http  # a copy shares the pool
    fresh = own.copy(http_client=None)  # a pool of its own, on aiohttp too
    assert isinstance(fresh._http._transport, AiohttpTransport) and fresh._http is not own._http
    given = odsc_llm.aiohttp_client(limits=httpx.Limits(max_connections=7))
    mine = odsc_llm.AsyncClient(ENDPOINT, auth=httpx.Auth(), http_client=given)
    assert mine._permits is not None and mine._permits._semaphore._value == 7
    for client in (own, fresh, mine):
        await client.aclose()
    assert not given.is_closed  # not the client's to close
    await given.aclose()


# -- the wire ---------------------------------------------------------------------------


async def test_the_wire_carries_the_same_request_on_both_transports() -> None:
    """aiohttp adds no header and drops none: what the signer signed is what is sent (the
    emulator checks real signatures in test_concurrency.py and tests/streaming)."""
    with HostileServer(ok_json(json.dumps(COMPLETION).encode())) as server:
        for transport in ("httpx", "aiohttp"):
            async with odsc_llm.AsyncClient(
                server.url, auth=FixedAuth(), transport=transport
            ) as client:
                assert (await client.completions.create(prompt="x")).choices[0].text
    httpx_head, aiohttp_head = server.requests
    assert sorted(aiohttp_head.lower().split(b"\r\n")) == sorted(httpx_head.lower().split(b"\r\n"))


# -- failures as odsc_llm's errors ------------------------------------------------------


async def _close_without_answering(server: HostileServer, reader: Any, writer: Any) -> None:
    await server.read_request(reader)


async def _never_answer(server: HostileServer, reader: Any, writer: Any) -> None:
    await server.read_request(reader)
    await asyncio.sleep(3600)


async def _wait_for_the_close(server: HostileServer, reader: Any, writer: Any) -> None:
    """Never answers; ends when the client closes the connection."""
    await server.read_request(reader)
    await asyncio.wait_for(reader.read(1), 60)


async def test_a_refused_connection_is_a_connection_error_not_a_timeout() -> None:
    async with odsc_llm.AsyncClient(
        REFUSED, auth=httpx.Auth(), transport="aiohttp", max_retries=0
    ) as client:
        with pytest.raises(odsc_llm.APIConnectionError) as info:
            await client.completions.create(prompt="x")
    assert not isinstance(info.value, odsc_llm.APITimeoutError)
    assert "ConnectError" in str(info.value)


async def test_a_server_closing_without_an_answer_is_a_connection_error_and_retried() -> None:
    """httpx-aiohttp would call this a ConnectTimeout; httpx says RemoteProtocolError."""
    with HostileServer(_close_without_answering) as server:
        async with odsc_llm.AsyncClient(
            server.url, auth=httpx.Auth(), transport="aiohttp", max_retries=1
        ) as client:
            with pytest.raises(odsc_llm.APIConnectionError) as info:
                await client.with_options(_sleep=_no_wait).completions.create(prompt="x")
    assert not isinstance(info.value, odsc_llm.APITimeoutError)
    assert "RemoteProtocolError" in str(info.value)
    assert len(server.requests) == 2  # retried once


async def _no_wait(seconds: float) -> None:
    pass


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_a_silent_server_is_a_read_timeout(stream: bool) -> None:
    with HostileServer(_never_answer) as server:
        async with odsc_llm.AsyncClient(
            server.url,
            auth=httpx.Auth(),
            transport="aiohttp",
            timeout=httpx.Timeout(10.0, read=0.5),
            total_timeout=30,
            max_retries=0,
        ) as client:
            started = time.monotonic()
            with pytest.raises(odsc_llm.APITimeoutError) as info:
                await client.completions.create(prompt="x", stream=stream)
    assert "ReadTimeout" in str(info.value) and "total_timeout" not in str(info.value)
    assert time.monotonic() - started < 0.5 + PROMPT


# -- connections given back ----------------------------------------------------------------


async def _settled(done: Any) -> bool:
    end = time.monotonic() + PROMPT
    while not done() and time.monotonic() < end:
        await asyncio.sleep(0.01)
    return bool(done())


@pytest.mark.parametrize("how", ["close", "cancel-reading", "cancel-before-the-answer"])
async def test_a_stream_closed_or_cancelled_early_closes_its_connection(how: str) -> None:
    """Its connection is neither held nor reused: the server sees it closed (its endless
    pings stop), and the pool has nothing checked out."""
    first = sse(completion_chunk("a"), done=False)
    handler = (
        _wait_for_the_close if how == "cancel-before-the-answer" else stream_pings(0.02, first, 60)
    )
    with HostileServer(handler) as server:
        async with odsc_llm.AsyncClient(server.url, auth=httpx.Auth(), transport="aiohttp") as c:
            if how == "close":
                stream = await c.completions.create(prompt="x", stream=True)
                assert (await stream.__anext__()).choices[0].text == "a"
                await stream.aclose()
            else:
                got: list[str] = []

                async def read() -> None:
                    stream = await c.completions.create(prompt="x", stream=True)
                    async for chunk in stream:
                        got.append(chunk.choices[0].text)

                task = asyncio.create_task(read())
                if how == "cancel-reading":
                    assert await _settled(lambda: got)
                else:
                    assert await _settled(lambda: server.requests)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            assert await _settled(lambda: not checked_out(c._http))
            assert await _settled(lambda: not server._tasks), "the server's side is still open"
            assert c._permits is not None
            assert c._permits._semaphore._value == C.DEFAULT_LIMITS.max_connections


@pytest.mark.parametrize("option", [{"retries": 2}, {"socket_options": [(6, 1, 1)]}])
def test_what_aiohttp_cannot_do_is_refused_at_construction(option: dict[str, Any]) -> None:
    with pytest.raises(odsc_llm.InvalidRequestError, match=next(iter(option))):
        AiohttpTransport(**option)


async def test_a_connect_that_hangs_is_a_connect_timeout(async_transport: Transport) -> None:
    """A listener whose accept queue is full drops the SYN: the connect waits, and its
    timeout is an APITimeoutError naming ConnectTimeout, on both transports."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    queued = []
    for _ in range(8):  # fill the accept queue (its length is the kernel's business)
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        queued.append(s)
    await asyncio.sleep(0.1)
    url = f"http://127.0.0.1:{port}/ocid1.datasciencemodeldeployment.oc1.iad.x"
    try:
        async with odsc_llm.AsyncClient(
            url,
            auth=httpx.Auth(),
            transport=async_transport,
            timeout=httpx.Timeout(30.0, connect=0.5),
            max_retries=0,
        ) as client:
            started = time.monotonic()
            with pytest.raises(odsc_llm.APITimeoutError) as info:
                await client.completions.create(prompt="x")
    finally:
        for s in queued:
            s.close()
        listener.close()
    assert "ConnectTimeout" in str(info.value)
    assert time.monotonic() - started < 0.5 + PROMPT
