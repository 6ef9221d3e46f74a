"""What an open stream keeps while it waits for the network (issue 27 point 1).

With 1,000 streams open at once, every object a stream keeps between two reads costs a
thousand times over: no chunk (model or JSON) is kept once it was yielded, and an async
stream's deadline is one timer, not a cancelled timer left in the loop's heap per read.
The bodies are ``httpx`` byte streams whose iterators look at the process while the
stream waits for its next read.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from odsc_llm import AsyncStream, Stream
from odsc_llm._errors import StreamTimeoutError
from odsc_llm.types.chat import ChatCompletionChunk
from odsc_llm.types.completion import Completion

from ..support.hostile_sse import chunk_event

CHUNKS = 250  # more than asyncio's 100 cancelled timers before it cleans its heap


def _events(n: int) -> list[bytes]:
    return [chunk_event(f" t{i}", "stop" if i == n - 1 else None) for i in range(n)]


class _Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """One read per event; ``between()`` runs before each read after the first two."""

    def __init__(self, pieces: list[bytes], between: Callable[[], None]) -> None:
        self.pieces = pieces
        self.between = between

    def __iter__(self) -> Iterator[bytes]:
        for i, piece in enumerate(self.pieces):
            if i >= 2:
                self.between()
            yield piece

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i, piece in enumerate(self.pieces):
            if i >= 2:
                self.between()
            yield piece


def _transport(pieces: list[bytes], between: Callable[[], None]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream", "opc-request-id": "req-1"}
        return httpx.Response(200, headers=headers, stream=_Pieces(pieces, between))

    return httpx.MockTransport(handler)


def _live_chunks() -> int:
    gc.collect()
    return sum(isinstance(o, (Completion, ChatCompletionChunk)) for o in gc.get_objects())


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
async def test_no_chunk_is_kept_while_the_next_read_waits(sync: bool) -> None:
    pieces = [*_events(12), b"data: [DONE]\n\n"]
    seen: list[int] = []
    transport = _transport(pieces, lambda: seen.append(_live_chunks()))
    # The reader keeps no chunk itself (no loop variable holds one during the read).
    if sync:
        with httpx.Client(transport=transport) as http:
            response = http.send(http.build_request("POST", "http://d/"), stream=True)
            with Stream(response, Completion, idle_timeout=30) as stream:
                it = iter(stream)
                for _ in range(12):
                    next(it)
                answer = stream.get_final_completion()
    else:
        async with httpx.AsyncClient(transport=transport) as http:
            response = await http.send(http.build_request("POST", "http://d/"), stream=True)
            async with AsyncStream(response, Completion, idle_timeout=30) as astream:
                ait = astream.__aiter__()
                for _ in range(12):
                    await ait.__anext__()
                answer = await astream.get_final_completion()
    assert seen and seen == [0] * len(seen), seen
    # What the answer needs was merged as the chunks came.
    assert answer.choices[0].text == "".join(f" t{i}" for i in range(12))
    assert answer.id == "cmpl-hostile" and answer.model == "odsc-llm" and answer.created == 1
    assert answer.choices[0].finish_reason == "stop"


async def test_an_async_stream_keeps_one_deadline_timer_for_all_its_reads() -> None:
    loop = asyncio.get_running_loop()
    scheduled: Any = loop._scheduled  # type: ignore[attr-defined]
    before = len(scheduled)
    sizes: list[int] = []
    transport = _transport([*_events(CHUNKS), b"data: [DONE]\n\n"], lambda: sizes.append(0))
    async with httpx.AsyncClient(transport=transport) as http:
        response = await http.send(http.build_request("POST", "http://d/"), stream=True)
        stream = AsyncStream(
            response, Completion, idle_timeout=30, first_event_deadline=time.monotonic() + 30
        )
        async with stream:
            count = 0
            async for _ in stream:
                count += 1
                sizes.append(len(scheduled) - before)
    assert count == CHUNKS
    # One timer for the stream (plus a few of the loop's own), not one per read.
    assert max(sizes) <= 3, max(sizes)


async def test_the_deadline_timer_still_ends_a_stall_after_many_reads() -> None:
    stall = asyncio.Event()

    class Stalling(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for piece in _events(CHUNKS - 1):
                yield piece
            await asyncio.wait_for(stall.wait(), 10)  # never set: the stream stalls

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Stalling())

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        response = await http.send(http.build_request("POST", "http://d/"), stream=True)
        started = 0.0
        with pytest.raises(StreamTimeoutError) as info:
            async with AsyncStream(response, Completion, idle_timeout=0.3) as stream:
                async for chunk in stream:
                    started = time.monotonic()
                    del chunk
        assert time.monotonic() - started < 5.0
    assert info.value.partial_text.endswith(f" t{CHUNKS - 2}")


async def test_a_cancel_from_outside_is_not_taken_for_the_deadline() -> None:
    reading = asyncio.Event()

    class Stalling(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield _events(1)[0].replace(b'"stop"', b"null")
            reading.set()
            await asyncio.sleep(10)
            yield b""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Stalling())

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        response = await http.send(http.build_request("POST", "http://d/"), stream=True)
        stream = AsyncStream(response, Completion, idle_timeout=5)

        async def read() -> None:
            async for _ in stream:
                pass

        task = asyncio.ensure_future(read())
        await asyncio.wait_for(reading.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await stream.aclose()
