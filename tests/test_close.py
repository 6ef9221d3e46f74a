"""Closing a client: calls after ``close()`` and calls in flight when it runs end with
:class:`odsc_llm.ClientClosedError`, at once (sync and async twins, real sockets on
127.0.0.1; the async client on httpx's transport and on aiohttp's: the ``sync`` and
``async_transport`` fixtures of tests/conftest.py).

A sync call blocked reading a socket is not woken by closing that socket from another
thread (Linux): it would wait for the server, up to its read timeout.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

import odsc_llm
from odsc_llm.types.params import Transport

from .support.clients import ENDPOINT, Twin
from .support.hostile import HostileServer

#: How long a closed call may take to end: far below the read timeout, generous for a
#: shared, slow machine.
PROMPT = 5.0
READ_TIMEOUT = 60.0


async def _never_answer(server: HostileServer, reader: Any, writer: Any) -> None:
    await server.read_request(reader)
    await asyncio.sleep(3600)


def test_a_call_after_close_says_the_client_is_closed(sync: bool) -> None:
    twin = Twin(sync, ENDPOINT, auth=httpx.Auth())
    copy = twin.client.with_options(timeout=5.0)  # shares the closed pool
    twin.close()
    for client in (twin.client, copy):
        with pytest.raises(odsc_llm.ClientClosedError, match="client is closed") as caught:
            if sync:
                client.completions.create(prompt="hi")
            else:
                asyncio.run(client.completions.create(prompt="hi"))
        assert isinstance(caught.value, odsc_llm.APIConnectionError)
        assert "closed" in str(caught.value)


def _wait_for_request(server: HostileServer) -> None:
    end = time.monotonic() + 10
    while not server.requests and time.monotonic() < end:
        time.sleep(0.01)
    assert server.requests, "the call never reached the server"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_close_from_another_thread_ends_an_in_flight_call_sync(stream: bool) -> None:
    with HostileServer(_never_answer) as server:
        client = odsc_llm.Client(server.url, auth=httpx.Auth(), timeout=READ_TIMEOUT)
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                client.completions.create(prompt="hi", stream=stream)
            except BaseException as exc:  # the test checks what it was
                outcome["error"] = exc
            outcome["ended"] = time.monotonic()

        thread = threading.Thread(target=call, daemon=True)
        thread.start()
        _wait_for_request(server)
        closed_at = time.monotonic()
        client.close()
        thread.join(2 * PROMPT)
        assert not thread.is_alive(), "the call is still blocked after close()"
    assert isinstance(outcome.get("error"), odsc_llm.ClientClosedError), outcome
    assert "closed" in str(outcome["error"])
    assert outcome["ended"] - closed_at < PROMPT
    assert len(server.requests) == 1  # not retried


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_close_from_another_task_ends_an_in_flight_call_async(
    stream: bool, async_transport: Transport
) -> None:
    async def run(server: HostileServer) -> tuple[BaseException | None, float]:
        client = odsc_llm.AsyncClient(
            server.url, auth=httpx.Auth(), timeout=READ_TIMEOUT, transport=async_transport
        )
        task = asyncio.create_task(client.completions.create(prompt="hi", stream=stream))
        while not server.requests:
            await asyncio.sleep(0.01)
        closed_at = time.monotonic()
        await client.aclose()
        try:
            await asyncio.wait_for(task, READ_TIMEOUT)
        except BaseException as exc:  # the test checks what it was
            return exc, time.monotonic() - closed_at
        return None, time.monotonic() - closed_at

    with HostileServer(_never_answer) as server:
        error, took = asyncio.run(asyncio.wait_for(run(server), 2 * READ_TIMEOUT))
    assert isinstance(error, odsc_llm.ClientClosedError), repr(error)
    assert "closed" in str(error)
    assert took < PROMPT
    assert len(server.requests) == 1  # not retried
