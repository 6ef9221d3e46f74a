"""Many concurrent streams on one AsyncClient, and clients that leak nothing (real sockets)."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator

import pytest

import odsc_llm
from odsc_llm.testing import LocalDeployment


@pytest.fixture(scope="module")
def local() -> Iterator[LocalDeployment]:
    with LocalDeployment() as deployment:
        yield deployment


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_200_concurrent_streams_past_the_httpx_pool_default(local: LocalDeployment) -> None:
    """httpx's default pool (100) would stall the 101st stream; ours holds them all at once."""
    local.reset()
    local.token_delay = 0.01
    try:
        async with odsc_llm.AsyncClient(local.deployment, auth=local.auth) as client:

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
async def test_creating_and_dropping_clients_leaks_no_sockets(local: LocalDeployment) -> None:
    async def use_and_close() -> None:
        async with odsc_llm.AsyncClient(local.deployment, auth=local.auth) as client:
            await client.completions.create(prompt="hi", max_tokens=2)

    async def use_and_drop() -> None:
        client = odsc_llm.AsyncClient(local.deployment, auth=local.auth)
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


async def test_async_streams_leave_their_connection_for_reuse(local: LocalDeployment) -> None:
    async with odsc_llm.AsyncClient(local.deployment, auth=local.auth) as client:
        for i in range(5):
            stream = await client.chat.completions.create(
                messages=[{"role": "user", "content": f"p{i}"}], stream=True
            )
            assert (await stream.get_final_completion()).choices[0].finish_reason
        connections = client._http._transport._pool.connections  # type: ignore[attr-defined]
    assert len(connections) == 1
