"""Stream and AsyncStream against servers that misbehave, one test body for both twins.

Each test takes ``sync`` (True: :class:`Stream` over ``httpx.Client``; False:
:class:`AsyncStream` over ``httpx.AsyncClient``, on httpx's transport or aiohttp's) and
drives the stream through :class:`Twin`, whose methods are the same for both. The
servers are raw sockets on 127.0.0.1 (``tests/support/hostile_sse.py``); times are only
ever generous upper bounds.
"""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from typing import Any

import httpx
import pytest

from odsc_llm import AsyncStream, Stream
from odsc_llm._errors import StreamError, StreamTimeoutError
from odsc_llm.types.completion import Completion

from ..support.clients import async_http
from ..support.hostile_sse import HostileSSE, Writer, chunk_event, completion_chunk

# ``sync`` is tests/conftest.py's fixture: Stream, or AsyncStream over httpx's transport
# or over aiohttp's.
# Generous bound on anything that must happen "at once" (a loaded 2-core machine).
PROMPT_S = 1.0

DONE = b"data: [DONE]\n\n"


def answer(*pieces: str) -> bytes:
    """Chunks with the texts ``pieces`` (the last one finishing), then ``[DONE]``."""
    events = [
        chunk_event(p, "stop" if i == len(pieces) - 1 else None) for i, p in enumerate(pieces)
    ]
    return b"".join(events) + DONE


class Twin:
    """Opens and reads streams the sync or the async way, behind one awaitable API."""

    def __init__(self, sync: bool, url: str, **client: Any) -> None:
        self.sync = sync
        self.url = url
        self.client_kwargs = client
        self.closed = 0  # on_close calls, over all streams opened

    def on_close(self) -> None:
        self.closed += 1

    @asynccontextmanager
    async def client(self) -> AsyncIterator[Twin]:
        kwargs = {"timeout": httpx.Timeout(10.0), **self.client_kwargs}
        if self.sync:
            self.http: Any = httpx.Client(**kwargs)
            try:
                yield self
            finally:
                self.http.close()
        else:
            self.http = async_http(**kwargs)
            try:
                yield self
            finally:
                await self.http.aclose()

    async def open(self, **stream: Any) -> Stream[Completion] | AsyncStream[Completion]:
        stream.setdefault("on_close", self.on_close)
        request = self.http.build_request("POST", self.url, content=b"{}")
        if self.sync:
            return Stream(self.http.send(request, stream=True), Completion, **stream)
        return AsyncStream(await self.http.send(request, stream=True), Completion, **stream)

    async def read(self, stream: Any, pause: float = 0.0) -> list[Completion]:
        chunks = []
        if self.sync:
            for chunk in stream:
                chunks.append(chunk)
                time.sleep(pause)
        else:
            async for chunk in stream:
                chunks.append(chunk)
                await asyncio.sleep(pause)
        return chunks

    async def text(self, **stream: Any) -> str:
        chunks = await self.read(await self.open(**stream))
        return "".join(c.choices[0].text for c in chunks)

    async def prime(self, stream: Any) -> None:
        if self.sync:
            stream._prime()
        else:
            await stream._aprime()

    async def next(self, stream: Any) -> Completion:
        return stream.__next__() if self.sync else await stream.__anext__()  # type: ignore[no-any-return]

    async def close(self, stream: Any) -> None:
        if self.sync:
            stream.close()
        else:
            await stream.aclose()

    async def fails(self, **stream: Any) -> StreamError:
        """Open and read a stream that must raise a StreamError; returns it."""
        opened = await self.open(**stream)
        with pytest.raises(StreamError) as info:
            await self.read(opened)
        return info.value


async def settle(done: Callable[[], object], within: float = PROMPT_S) -> None:
    """Let the event loop run (async closes are scheduled tasks) until ``done()``."""
    stop = time.monotonic() + within
    while not done() and time.monotonic() < stop:
        await asyncio.sleep(0.001)


def serve(body: bytes, *, pieces: int = 1) -> Callable[[Writer], None]:
    """A script answering ``body`` in ``pieces`` HTTP chunks, then ending the body."""

    def script(w: Writer) -> None:
        w.head()
        step = max(1, -(-len(body) // pieces))
        parts = [body[start : start + step] for start in range(0, len(body), step)]
        for part in parts[:-1]:
            w.send(part)
        w.end(parts[-1])  # the body's end arrives with its last piece, as it often does

    return script


# -- point 2: a stream ends at [DONE] ------------------------------------------------------


async def test_done_reuses_the_connection_when_the_body_has_ended(sync: bool) -> None:
    with HostileSSE(serve(answer("a", "b", "c"), pieces=3)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            assert await twin.text() == "abc"
            assert await twin.text() == "abc"
        assert twin.closed == 2
        assert server.requests == 2
        assert server.connections == 1


@pytest.mark.parametrize("after", ["pings", "silence"])
async def test_done_returns_at_once_whatever_the_server_does_next(sync: bool, after: str) -> None:
    def script(w: Writer) -> None:
        w.head()
        w.send(answer("x", "y"))
        if after == "pings":
            w.trickle(b": ping\n\n", every=0.02)
        else:
            w.stall()

    with HostileSSE(script) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            started = time.monotonic()
            assert await twin.text(idle_timeout=30.0) == "xy"
            assert time.monotonic() - started < PROMPT_S
            assert twin.closed == 1
            # The connection was closed, not pooled: the next call opens a new one.
            assert await twin.text() == "xy"
        assert server.connections == 2


@pytest.mark.parametrize("ending", [b"data: [DONE]", b"data: [DONE]\n", b"data:[DONE]\r"])
async def test_done_at_end_of_body_without_blank_line(sync: bool, ending: bytes) -> None:
    body = chunk_event("only", "stop") + ending
    with HostileSSE(serve(body)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            assert await twin.text() == "only"


# -- point 1: deadlines are wall-clock --------------------------------------------------


@pytest.mark.parametrize("trickle", [b": ping\n", b"\n", b"d"])
async def test_first_event_deadline_is_not_extended_by_trickled_bytes(
    sync: bool, trickle: bytes
) -> None:
    def script(w: Writer) -> None:
        w.head()
        w.trickle(trickle, every=0.05)

    with HostileSSE(script) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            started = time.monotonic()
            stream = await twin.open(first_event_deadline=started + 0.5, idle_timeout=0.2)
            with pytest.raises(StreamTimeoutError) as info:
                await twin.read(stream)
            assert time.monotonic() - started < 0.5 + PROMPT_S
        assert info.value.before_first_event is True
        assert info.value.partial_text == ""
        assert "first event" in str(info.value)
        assert twin.closed == 1


async def test_silent_server_before_the_first_event(sync: bool) -> None:
    # Async cancels the read at the deadline; sync is bounded by httpx's read timeout.
    def script(w: Writer) -> None:
        w.head()
        w.stall()

    with HostileSSE(script) as server:
        twin = Twin(sync, server.url, timeout=httpx.Timeout(10.0, read=1.0))
        async with twin.client():
            started = time.monotonic()
            stream = await twin.open(first_event_deadline=started + 0.3, idle_timeout=0.2)
            with pytest.raises(StreamTimeoutError) as info:
                await twin.prime(stream)
            assert time.monotonic() - started < 1.0 + PROMPT_S
        assert info.value.before_first_event is True
        assert twin.closed == 1


async def test_idle_timeout_is_not_reset_by_comments_or_blank_lines(sync: bool) -> None:
    def script(w: Writer) -> None:
        w.head()
        w.send(chunk_event("Hello"))
        w.send(chunk_event(", world"))
        w.trickle(b": ping\n\n\n", every=0.05)

    with HostileSSE(script) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            stream = await twin.open(first_event_deadline=time.monotonic() + 5, idle_timeout=0.5)
            started = time.monotonic()
            with pytest.raises(StreamTimeoutError) as info:
                await twin.read(stream)
            assert time.monotonic() - started < 0.5 + PROMPT_S
        assert info.value.partial_text == "Hello, world"
        assert info.value.before_first_event is False
        assert "stream_idle_timeout" in str(info.value)


async def test_idle_timeout_on_a_silent_server_within_the_read_timeout(sync: bool) -> None:
    # Async cancels the read at the idle deadline; sync is bounded by httpx's read timeout.
    def script(w: Writer) -> None:
        w.head()
        w.send(chunk_event("partial"))
        w.stall()

    with HostileSSE(script) as server:
        twin = Twin(sync, server.url, timeout=httpx.Timeout(10.0, read=1.0))
        async with twin.client():
            stream = await twin.open(idle_timeout=0.3)
            started = time.monotonic()
            with pytest.raises(StreamTimeoutError) as info:
                await twin.read(stream)
            assert time.monotonic() - started < 1.0 + PROMPT_S
        assert info.value.partial_text == "partial"


async def test_a_slow_reader_is_not_a_stalled_server(sync: bool) -> None:
    with HostileSSE(serve(answer("a", "b", "c", "d"), pieces=4)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            stream = await twin.open(first_event_deadline=time.monotonic() + 5, idle_timeout=0.2)
            chunks = await twin.read(stream, pause=0.3)
        assert [c.choices[0].text for c in chunks] == ["a", "b", "c", "d"]


# -- point 4: _prime --------------------------------------------------------------------


async def test_prime_buffers_the_first_chunk(sync: bool) -> None:
    with HostileSSE(serve(answer("first", "second"), pieces=2)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            stream = await twin.open()
            await twin.prime(stream)
            await twin.prime(stream)  # idempotent
            assert (await twin.next(stream)).choices[0].text == "first"
            assert [c.choices[0].text for c in await twin.read(stream)] == ["second"]


def _break_before_any_event(w: Writer) -> None:
    w.head()
    w.send(b": hello\n\n")
    w.reset()


def _end_before_any_event(w: Writer) -> None:
    w.head()
    w.send(b": hello\n\nretry: 10\n\n")
    w.end()


def _error_event(w: Writer) -> None:
    w.head()
    w.send(b'data: {"error": {"message": "boom", "type": "x", "code": 500}}\n\n' + DONE)
    w.end()


def _not_json(w: Writer) -> None:
    w.head()
    w.send(b"data: {not json\n\n" + DONE)
    w.end()


def _not_sse(w: Writer) -> None:
    body = b'{"message": "not a stream"}'
    w.head(content_type="application/json", length=len(body))
    w.raw(body)


@pytest.mark.parametrize(
    ("script", "retryable"),
    [
        (_break_before_any_event, True),
        (_end_before_any_event, True),
        (_error_event, False),
        (_not_json, False),
        (_not_sse, False),
    ],
    ids=["broken", "ended", "error-event", "not-json", "not-sse"],
)
async def test_prime_errors_say_whether_a_retry_may_follow(
    sync: bool, script: Callable[[Writer], None], retryable: bool
) -> None:
    with HostileSSE(script) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            stream = await twin.open()
            with pytest.raises(StreamError) as info:
                await twin.prime(stream)
        assert info.value.before_first_event is retryable
        assert twin.closed == 1


# -- point 5: a non-SSE answer is read bounded ------------------------------------------


async def test_huge_html_answer_is_read_at_most_64_kb(sync: bool) -> None:
    declared = 300 * 1024 * 1024
    page = b"<html><body><h1>502 Bad Gateway</h1>" + b"x" * 65536

    def script(w: Writer) -> None:
        w.head(content_type="text/html", length=declared)
        while w.sent < declared and w.raw(page):
            pass

    with HostileSSE(script) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            tracemalloc.start()
            started = time.monotonic()
            try:
                error = await twin.fails()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert time.monotonic() - started < 5.0
        assert peak < 8 * 1024 * 1024
        assert "text/html" in str(error) and "502 Bad Gateway" in str(error)
        assert len(str(error.body)) <= 64 * 1024
        assert error.before_first_event is False
        assert twin.closed == 1


# -- issue 16 point 9: every error path, both twins ---------------------------------------


async def test_error_event(sync: bool) -> None:
    body = chunk_event("so far") + b'event: error\ndata: {"message": "overloaded"}\n\n' + DONE
    with HostileSSE(serve(body)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            error = await twin.fails()
    assert "error event" in str(error) and "overloaded" in str(error)
    assert error.partial_text == "so far"
    assert error.before_first_event is False


async def test_vllm_error_object_mid_stream(sync: bool) -> None:
    body = chunk_event("so far") + b'data: {"error": {"message": "CUDA out of memory"}}\n\n' + DONE
    with HostileSSE(serve(body)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            error = await twin.fails()
    assert "CUDA out of memory" in str(error)
    assert error.partial_text == "so far"


async def test_non_json_chunk(sync: bool) -> None:
    with HostileSSE(serve(chunk_event("ok") + b"data: <html>\n\n" + DONE)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            error = await twin.fails()
    assert "not JSON" in str(error) and "<html>" in str(error)
    assert error.partial_text == "ok"


async def test_cut_before_done(sync: bool) -> None:
    with HostileSSE(serve(chunk_event("half"))) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            error = await twin.fails()
    assert "without 'data: [DONE]'" in str(error)
    assert error.partial_text == "half"
    assert error.before_first_event is False


async def test_reset_mid_stream(sync: bool) -> None:
    def script(w: Writer) -> None:
        w.head()
        w.send(chunk_event("before"))
        time.sleep(0.05)
        w.reset()

    with HostileSSE(script) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            error = await twin.fails()
    assert "broke" in str(error)
    assert error.partial_text == "before"
    assert error.before_first_event is False
    assert twin.closed == 1


async def test_not_sse_answer(sync: bool) -> None:
    with HostileSSE(_not_sse) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            error = await twin.fails()
    assert "application/json" in str(error) and "not a stream" in str(error)


async def test_done_before_finish_reason(sync: bool) -> None:
    with HostileSSE(serve(chunk_event("cut") + DONE)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            error = await twin.fails()
    assert "finish_reason" in str(error)
    assert error.partial_text == "cut"


# -- point 3: SSE as the WHATWG spec says -----------------------------------------------


@pytest.mark.parametrize("newline", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
async def test_spec_events(sync: bool, newline: bytes) -> None:
    first = completion_chunk("one ")
    head, tail = first[:20], first[20:]
    lines = [
        b": a comment",
        b"retry: 3000",
        b"",
        b"id: 7",
        b"event: message",
        b"",
        b"data:",
        b"",
        b"data: " + head.encode(),
        b"data: " + tail.encode(),  # multi-line data, joined with \n (JSON whitespace)
        b"",
        b"data: " + completion_chunk("\ud83d two", "stop").encode(),
        b"",
        b"data: [DONE]",
        b"",
    ]
    body = b"\xef\xbb\xbf" + newline.join(lines) + newline
    with HostileSSE(serve(body, pieces=7)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            assert await twin.text() == "one \ufffd two"


# -- point 9: nothing is lost; on_close exactly once ----------------------------------------


async def test_dropped_streams_are_released(sync: bool) -> None:
    with HostileSSE(serve(answer("ok"))) as server:
        twin = Twin(sync, server.url, limits=httpx.Limits(max_connections=10))
        twin.client_kwargs["timeout"] = httpx.Timeout(10.0, pool=2.0)
        async with twin.client():
            for _ in range(50):
                await twin.open()  # dropped at once, never read nor closed
                if not sync:
                    await asyncio.sleep(0)  # the loop runs the scheduled closes
            gc.collect()
            started = time.monotonic()
            assert await twin.text() == "ok"
            assert time.monotonic() - started < PROMPT_S
        assert twin.closed == 51


PATHS = ["done", "error", "close-unread", "close-midway", "break", "with", "drop", "timeout"]


@pytest.mark.parametrize("path", PATHS)
async def test_on_close_is_called_exactly_once(sync: bool, path: str) -> None:
    def script(w: Writer) -> None:
        w.head()
        if path == "error":
            w.send(b"data: nope\n\n")
        elif path == "timeout":
            w.send(chunk_event("a"))
            w.trickle(b": ping\n\n", every=0.02)
            return
        else:
            w.send(answer("a", "b", "c"))
        w.end()

    with HostileSSE(script) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            stream: Any = await twin.open(idle_timeout=0.2)
            if path in ("done", "error", "timeout"):
                with pytest.raises(StreamError) if path != "done" else nullcontext():
                    await twin.read(stream)
            elif path == "close-unread":
                await twin.close(stream)
            elif path == "close-midway":
                await twin.next(stream)
                await twin.close(stream)
            elif path == "break":
                if sync:
                    for _ in stream:
                        break
                else:
                    async for _ in stream:
                        break
                    await settle(lambda: twin.closed)
            elif path == "with":
                if sync:
                    with stream:
                        next(iter(stream))
                else:
                    async with stream:
                        await stream.__anext__()
            elif path == "drop":
                await twin.next(stream)
                del stream
                gc.collect()
                await settle(lambda: twin.closed)
                stream = None
            assert twin.closed == 1
            if stream is not None:
                await twin.close(stream)  # a later close does not call it again
            assert twin.closed == 1


async def test_dropped_client_streams_are_released(sync: bool, emulator: Any) -> None:
    # Through the public client: 50 streams dropped unread on a pool of 10 connections.
    limits = httpx.Limits(max_connections=10)
    timeout = httpx.Timeout(10.0, pool=2.0)
    if sync:
        http_sync = httpx.Client(limits=limits, timeout=timeout)
        with emulator.client(http_client=http_sync, timeout=timeout, max_retries=0) as client:
            for _ in range(50):
                client.completions.create(prompt="hi", max_tokens=3, stream=True)
            gc.collect()
            started = time.monotonic()
            assert client.completions.create(prompt="hi", max_tokens=3).choices
            assert time.monotonic() - started < PROMPT_S
        return
    # A caller's own http_client is the caller's to close (the client leaves it open).
    async with async_http(limits=limits, timeout=timeout) as http:
        aclient = emulator.async_client(http_client=http, timeout=timeout, max_retries=0)
        async with aclient:
            for _ in range(50):
                await aclient.completions.create(prompt="hi", max_tokens=3, stream=True)
            gc.collect()
            started = time.monotonic()
            assert (await aclient.completions.create(prompt="hi", max_tokens=3)).choices
            assert time.monotonic() - started < PROMPT_S
