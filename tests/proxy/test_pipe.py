"""``_pipe.batches``: what has arrived goes on in one piece; errors after the bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from odsc_llm.proxy._pipe import batches


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes], *, fail: bool = False, pause: bool = False) -> None:
        self.chunks, self.fail, self.pause = chunks, fail, pause
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            if self.pause:
                await asyncio.sleep(0.01)  # each piece arrives on its own
            yield chunk
        if self.fail:
            raise httpx.ReadError("connection reset")

    async def aclose(self) -> None:
        self.closed = True


async def _collect(stream: _Chunks) -> list[bytes]:
    return [piece async for piece in batches(httpx.Response(200, stream=stream))]


async def test_the_first_piece_at_once_then_what_arrived_together_goes_on_together() -> None:
    # The first piece (the first token) is passed on alone, the moment it is read; what
    # arrived with it or after goes on in one piece.
    events = [b"data: %d\n\n" % i for i in range(50)]
    assert await _collect(_Chunks(events)) == [events[0], b"".join(events[1:])]


async def test_the_first_piece_needs_no_reader_task() -> None:
    before = len(asyncio.all_tasks())
    pieces = batches(httpx.Response(200, stream=_Chunks([b"first", b"second"])))
    assert await pieces.__anext__() == b"first"
    assert len(asyncio.all_tasks()) == before  # read in the caller's task, no queue between
    assert [piece async for piece in pieces] == [b"second"]


async def test_empty_pieces_are_skipped_and_an_empty_answer_has_none() -> None:
    assert await _collect(_Chunks([b"", b"", b"a"])) == [b"a"]
    assert await _collect(_Chunks([])) == []


async def test_what_arrives_apart_goes_on_at_once() -> None:
    events = [b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"]
    assert await _collect(_Chunks(events, pause=True)) == events


async def test_a_broken_read_raises_after_its_bytes() -> None:
    got: list[bytes] = []
    with pytest.raises(httpx.ReadError):
        async for piece in batches(httpx.Response(200, stream=_Chunks([b"a", b"b"], fail=True))):
            got.append(piece)
    assert got == [b"a", b"b"]


async def test_stopping_early_cancels_the_reader() -> None:
    before = len(asyncio.all_tasks())
    pieces = batches(httpx.Response(200, stream=_Chunks([b"x"] * 5, pause=True)))
    assert await pieces.__anext__() == b"x"
    await pieces.aclose()
    assert len(asyncio.all_tasks()) == before
