"""An async connection's first reads from its socket are small (issue 27).

anyio reads a socket only while a receive waits, but then takes what the kernel holds,
up to asyncio's 256 KiB: an answer sent whole was read whole into the process, however
little of it the stream had parsed. With ``FIRST_READ_BYTES`` the rest stays in the
kernel's buffer until the stream reads on; the reads grow back to full size. Real
sockets on 127.0.0.1 (the default transport: httpcore over anyio over asyncio).
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from typing import Any

import httpx

import odsc_llm
from odsc_llm import _constants as C
from odsc_llm._transport._async_backend import AsyncCappedStream

from ..support.clients import completion_chunk, sse
from ..support.hostile import SSE_HEAD, HostileServer

#: One answer: ~200 KB of events, written at once.
CHUNKS = 1000
STREAMS = 20


def _whole_answer() -> Any:
    events = [completion_chunk("x" * 150) for _ in range(CHUNKS - 1)]
    body = SSE_HEAD + sse(*events, completion_chunk("end", "stop"))

    async def handler(server: HostileServer, reader: Any, writer: Any) -> None:
        await server.read_request(reader)
        await server.write(writer, body)

    return handler


def test_open_streams_hold_a_small_first_read_not_the_whole_answer() -> None:
    """20 streams, each answer (~200 KB) sent whole, each read to its first chunk: the
    process holds about the first read of each, not the answers."""

    async def main(url: str) -> tuple[float, list[int]]:
        client = odsc_llm.AsyncClient(url, auth=httpx.Auth(), max_retries=0)
        async with client:
            tracemalloc.start()
            try:
                gc.collect()
                before = tracemalloc.get_traced_memory()[0]
                streams = [await client.completions.create(prompt="x", stream=True)
                           for _ in range(STREAMS)]  # fmt: skip
                await asyncio.sleep(0.2)  # every answer is in the kernel's buffers by now
                for stream in streams:
                    await stream.__anext__()
                gc.collect()
                held = (tracemalloc.get_traced_memory()[0] - before) / STREAMS
            finally:
                tracemalloc.stop()
            counts = []
            for stream in streams:  # each reads on to its end, whole
                counts.append(1 + len([chunk async for chunk in stream]))
        return held, counts

    with HostileServer(_whole_answer()) as server:
        held, counts = asyncio.run(main(server.url))
    assert counts == [CHUNKS] * STREAMS
    # Each answer is ~200 KB; the first read 4 KiB, and a stream's own objects ~30 KB.
    assert held < 96 * 1024, f"{held:,.0f} B held per open stream"


def test_reads_grow_back_to_full_size() -> None:
    class Transport:
        max_size = 256 * 1024

    class Socket:  # anyio's SocketStream: its asyncio transport
        _transport = Transport()

    class Stream:  # httpcore's AnyIOStream
        _stream = Socket()

        async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return b"x"

    transport = Socket._transport
    stream = AsyncCappedStream(Stream())  # type: ignore[arg-type]
    sizes = [transport.max_size]
    for _ in range(8):
        asyncio.run(stream.read(65536))
        sizes.append(transport.max_size)
    assert sizes[0] == C.FIRST_READ_BYTES
    assert sizes == sorted(sizes) and sizes[-1] == 256 * 1024
    assert sizes.index(256 * 1024) == 6  # 4 KiB doubled six times


def test_a_stream_without_an_asyncio_transport_is_left_as_it_is() -> None:
    class Stream:  # uvloop's or trio's shape: nothing to resize
        _stream = object()

        async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return b"x"

    stream = AsyncCappedStream(Stream())  # type: ignore[arg-type]
    assert asyncio.run(stream.read(10)) == b"x"
