"""Many concurrent streams on one AsyncClient, and clients that leak nothing (real sockets)."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import odsc_llm
from odsc_llm import _constants as C
from odsc_llm.testing import LocalDeployment
from odsc_llm.types.params import Transport

from .support.clients import Twin, async_http, open_connections


@pytest.fixture(scope="module")
def local() -> Iterator[LocalDeployment]:
    with LocalDeployment() as deployment:
        yield deployment


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_200_concurrent_streams_past_the_httpx_pool_default(
    local: LocalDeployment, async_transport: Transport
) -> None:
    """httpx's default pool (100) would stall the 101st stream; ours holds them all at once."""
    local.reset()
    local.token_delay = 0.01
    try:
        async with odsc_llm.AsyncClient(
            local.deployment, auth=local.auth, transport=async_transport
        ) as client:

            async def one(i: int) -> str:
                stream = await client.completions.create(
                    prompt=f"stream {i}", max_tokens=8, stream=True
                )
                async with stream:
                    return "".join([piece async for piece in stream.text()])

            texts = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(200))), 60)
    finally:
        local.token_delay = 0.0
    assert len(texts) == 200 and all(texts)
    assert texts[7] != texts[8]  # each answer is built from its own prompt
    assert local.peak_streams > 100


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to count sockets")
async def test_creating_and_dropping_clients_leaks_no_sockets(
    local: LocalDeployment, async_transport: Transport
) -> None:
    async def use_and_close() -> None:
        async with odsc_llm.AsyncClient(
            local.deployment, auth=local.auth, transport=async_transport
        ) as client:
            await client.completions.create(prompt="hi", max_tokens=2)

    async def use_and_drop() -> None:
        client = odsc_llm.AsyncClient(local.deployment, auth=local.auth, transport=async_transport)
        stream = await client.completions.create(prompt="hi", max_tokens=50, stream=True)
        await stream.__anext__()  # a connection is checked out, then everything is dropped

    await use_and_close()  # warm up: imports, the emulator's own lazy state
    gc.collect()
    before = _open_fds()
    for _ in range(30):
        await use_and_close()
    for _ in range(30):
        await use_and_drop()
    for _ in range(3):
        gc.collect()
        await asyncio.sleep(0.05)
    assert _open_fds() - before <= 2


def test_streams_leave_their_connection_for_reuse(local: LocalDeployment) -> None:
    """Reading to [DONE] must leave the connection in the pool: against a deployment each
    new connection is a TCP + TLS handshake to the region."""
    with odsc_llm.Client(local.deployment, auth=local.auth) as client:
        for i in range(5):
            assert "".join(client.completions.create(prompt=f"p{i}", stream=True).text())
        client.completions.create(prompt="plain")
        connections = client._http._transport._pool.connections  # type: ignore[attr-defined]
    assert len(connections) == 1


async def test_async_streams_leave_their_connection_for_reuse(
    local: LocalDeployment, async_transport: Transport
) -> None:
    async with odsc_llm.AsyncClient(
        local.deployment, auth=local.auth, transport=async_transport
    ) as client:
        for i in range(5):
            stream = await client.chat.completions.create(
                messages=[{"role": "user", "content": f"p{i}"}], stream=True
            )
            assert (await stream.get_final_completion()).choices[0].finish_reason
        await asyncio.sleep(0)  # the release after [DONE] is a task of its own
        assert open_connections(client._http) == 1


# -- the in-flight bound: one permit per request, held by a stream until it is closed ----


async def test_2000_concurrent_streams_all_finish(
    odsc_llm_local: LocalDeployment, async_transport: Transport
) -> None:
    """More streams than the pool has connections: the client-side bound queues the rest
    instead of starving the event loop inside the pool."""
    local = odsc_llm_local
    bound = C.DEFAULT_LIMITS.max_connections
    async with odsc_llm.AsyncClient(
        local.deployment, auth=local.auth, transport=async_transport
    ) as client:

        async def one(i: int) -> str:
            stream = await client.completions.create(prompt=f"s {i}", max_tokens=4, stream=True)
            async with stream:
                return "".join([piece async for piece in stream.text()])

        texts = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(2000))), 240)
        assert client._permits._semaphore._value == bound  # every permit came back
    assert len(texts) == 2000 and all(texts)
    assert local.peak_streams <= bound


def test_a_stream_holds_its_permit_until_it_is_closed(
    sync: bool, odsc_llm_local: LocalDeployment
) -> None:
    local = odsc_llm_local
    limits = httpx.Limits(max_connections=1)
    http: Any = httpx.Client(limits=limits) if sync else async_http(limits=limits)
    twin = Twin(sync, local.deployment, auth=local.auth, http_client=http)
    permits = twin.client._permits._semaphore
    try:
        assert permits._value == 1  # sized from the pool given
        stream = twin.call(prompt="a", max_tokens=20, stream=True)
        twin.next(stream)
        assert permits._value == 0
        with pytest.raises(odsc_llm.APITimeoutError, match="free connection"):
            twin.call(prompt="b", total_timeout=0.5)
        twin.run(stream.close())
        assert permits._value == 1
        assert twin.call(prompt="c").choices[0].text
        local.faults.push(cut_before_done=True)
        with pytest.raises(odsc_llm.StreamError):
            twin.stream(prompt="d", max_tokens=8)
        assert permits._value == 1  # released on the error path too
        assert twin.stream(prompt="e", max_tokens=3)
        assert permits._value == 1
    finally:
        twin.run(http.close() if sync else http.aclose())
        twin.close()


def test_copies_share_the_bound_of_their_pool(odsc_llm_local: LocalDeployment) -> None:
    client = odsc_llm.Client(odsc_llm_local.deployment, auth=odsc_llm_local.auth)
    assert client.with_options(timeout=5)._permits is client._permits
    other = client.copy(http_client=None)
    assert other._permits is not client._permits
    other.close()
    client.close()
