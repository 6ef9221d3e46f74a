"""How streams end and give their connection back (issue 21: points 5, 15, 16, 17, 20).

Sync and async twins, through :class:`tests.test_streaming.Twin`, against raw-socket
servers on 127.0.0.1 (``tests/support/hostile_sse.py``). Times are only ever generous bounds.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from odsc_llm import AsyncStream, Stream
from odsc_llm._errors import StreamError
from odsc_llm.types.completion import Completion

from ..support.clients import checked_out
from ..support.hostile_sse import HostileSSE, Writer, chunk_event
from .test_streaming import DONE, Twin, answer, serve, settle

# ``sync`` is tests/conftest.py's fixture: Stream, or AsyncStream over httpx's transport
# or over aiohttp's.


async def final(stream: Any) -> Any:
    """``get_final_completion()`` of either twin."""
    if isinstance(stream, Stream):
        return stream.get_final_completion()
    return await stream.get_final_completion()


async def break_off(stream: Any) -> None:
    """The README's loop, left at its first chunk."""
    if isinstance(stream, Stream):
        for _ in stream:
            break
    else:
        async for _ in stream:
            break


# -- point 5: the final completion of a stream closed before its end --------------------


@pytest.mark.parametrize("how", ["break", "close"])
async def test_final_completion_of_a_stream_closed_early_raises(sync: bool, how: str) -> None:
    with HostileSSE(serve(answer("a", "b", "c"), pieces=3)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            stream = await twin.open()
            if how == "break":
                await break_off(stream)
            else:
                await twin.next(stream)
                await twin.close(stream)
            with pytest.raises(StreamError) as info:
                await final(stream)
            # Asked again: the same answer, not a quiet partial completion.
            with pytest.raises(StreamError):
                await final(stream)
            await settle(lambda: twin.closed)
            assert twin.closed == 1
    assert info.value.partial_text == "a"
    assert "closed before" in str(info.value) and "get_final_completion" in str(info.value)
    assert info.value.before_first_event is False


@pytest.mark.parametrize("how", ["next", "iterator"])
async def test_final_completion_of_a_paused_stream_reads_on(sync: bool, how: str) -> None:
    with HostileSSE(serve(answer("a", "b", "c"), pieces=3)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            stream: Any = await twin.open()
            if how == "next":
                await twin.next(stream)
                completion = await final(stream)
            elif sync:
                chunks = iter(stream)  # a loop paused, not left: kept alive below
                next(chunks)
                completion = await final(stream)
                del chunks
            else:
                achunks = stream.__aiter__()
                await achunks.__anext__()
                completion = await final(stream)
                del achunks
            assert twin.closed == 1
    assert completion.choices[0].text == "abc"
    assert completion.choices[0].finish_reason == "stop"


async def test_final_completion_after_an_error_raises_that_error(sync: bool) -> None:
    with HostileSSE(serve(chunk_event("cut"))) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            stream = await twin.open()
            with pytest.raises(StreamError) as first:
                await twin.read(stream)
            with pytest.raises(StreamError) as again:
                await final(stream)
    assert again.value is first.value and again.value.partial_text == "cut"


# -- point 15: breaking out of an async stream logs nothing ------------------------------


@contextmanager
def nothing_logged(caplog: pytest.LogCaptureFixture) -> Iterator[list[dict[str, Any]]]:
    """Collects what reaches the event loop's exception handler or the logs."""
    seen: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    try:
        with caplog.at_level(logging.WARNING):
            yield seen
    finally:
        loop.set_exception_handler(previous)


async def test_breaking_out_of_the_readme_loop_logs_nothing(
    sync: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with HostileSSE(serve(answer("a", "b", "c"), pieces=3)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            with nothing_logged(caplog) as seen:
                for _ in range(10):
                    stream: Any = await twin.open()
                    if sync:
                        with stream:
                            for _ in stream:
                                break
                    else:
                        async with stream:
                            async for _ in stream:
                                break
                for _ in range(5):
                    await asyncio.sleep(0.01)  # the scheduled closes run
                gc.collect()
                await asyncio.sleep(0.01)
            assert twin.closed == 10
    assert seen == []
    assert [r.getMessage() for r in caplog.records] == []


# -- point 16: a stream collected in a reference cycle never deadlocks its thread -------


async def open_in_a_cycle(twin: Twin, on_close: Callable[[], None]) -> None:
    """Open a stream and read its first chunk; then only a reference cycle keeps it."""

    def closed() -> None:
        on_close()
        assert stream is not None  # the callback refers to the stream, as a traced call's

    stream = await twin.open(on_close=closed)
    await twin.prime(stream)


def collect_holding(lock: Any) -> bool:
    """In a worker thread: collect garbage (a dropped stream in a reference cycle) while
    that thread holds ``lock``. Whether it finished (False: it deadlocked)."""

    def work() -> None:
        with lock:
            gc.collect()

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout=10.0)
    if worker.is_alive():
        lock.release()  # unstick the deadlocked worker (a Lock is any thread's to release)
        return False
    return True


async def test_a_stream_collected_while_its_pool_lock_is_held(sync: bool) -> None:
    with HostileSSE(serve(answer("a", "b"), pieces=2)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            pool = getattr(twin.http._transport, "_pool", None)
            # httpcore's sync pool lock (a threading.Lock inside its ThreadLock); the
            # async pool has none to hold (its AsyncThreadLock is a no-op), nor aiohttp's.
            thread_lock = getattr(pool, "_optional_thread_lock", None)
            lock = getattr(thread_lock, "_lock", None) or threading.Lock()
            gc.disable()  # the collection happens below, under the lock, not before
            try:
                await open_in_a_cycle(twin, twin.on_close)
                done = collect_holding(lock)
            finally:
                gc.enable()
            assert done, "the collecting thread deadlocked on the pool's lock"
            await settle(lambda: twin.closed and not checked_out(twin.http))
            assert twin.closed == 1
            assert not checked_out(twin.http)  # the connection was given back
            assert await twin.text() == "ab"  # and the pool still serves


async def test_a_stream_collected_while_its_on_close_lock_is_held(sync: bool) -> None:
    # A client's permit (a threading.Semaphore) or a tracer's span processor: on_close
    # takes locks too; a finalizer must not run it on the thread that may hold them.
    with HostileSSE(serve(answer("a", "b"), pieces=2)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            lock = threading.Lock()

            def on_close() -> None:
                with lock:
                    twin.on_close()

            gc.disable()
            try:
                await open_in_a_cycle(twin, on_close)
                done = collect_holding(lock)
            finally:
                gc.enable()
            assert done, "the collecting thread deadlocked on on_close's lock"
            await settle(lambda: twin.closed, within=5.0)
            assert twin.closed == 1


# -- point 17: streams read to [DONE] never strand their connection ----------------------


def _done_then_late_end(w: Writer) -> None:
    # The body's end comes a little after [DONE], in its own TCP segment: the stream's
    # wait for it times out or not, on a loaded loop, right as it arrives.
    w.head()
    w.send(chunk_event("a") + chunk_event("b", "stop") + DONE)
    time.sleep(0.002)
    w.end()


async def test_streams_read_to_done_leave_no_active_connection(sync: bool) -> None:
    streams, rounds = 20, 4
    with HostileSSE(_done_then_late_end) as server:
        twin = Twin(sync, server.url, limits=httpx.Limits(max_connections=100))
        async with twin.client():
            if sync:

                def read() -> None:
                    for _ in range(rounds):
                        with Stream(twin.http.send(build(twin), stream=True), Completion) as s:
                            assert "".join(c.choices[0].text for c in s) == "ab"

                threads = [threading.Thread(target=read) for _ in range(streams)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=30.0)
            else:
                busy = True

                async def hog() -> None:
                    # A loaded event loop: each turn takes longer than the wait for the
                    # body's end after [DONE].
                    while busy:
                        time.sleep(0.008)
                        await asyncio.sleep(0)

                async def read() -> None:
                    response = await twin.http.send(build(twin), stream=True)
                    async with AsyncStream(response, Completion) as s:
                        assert "".join([c.choices[0].text async for c in s]) == "ab"

                hogging = asyncio.create_task(hog())
                try:
                    for _ in range(rounds):
                        await asyncio.gather(*(read() for _ in range(streams)))
                finally:
                    busy = False
                    await hogging
                await settle(lambda: not checked_out(twin.http))
            assert checked_out(twin.http) == 0
            pool = getattr(twin.http._transport, "_pool", None)  # httpcore's: none stuck
            assert pool is None or all(c.is_idle() or c.is_closed() for c in pool.connections)


@pytest.mark.parametrize("end_at_hand", [True, False], ids=["end-at-hand", "end-late"])
async def test_a_stream_whose_end_is_at_hand_is_released_without_a_task(
    async_transport: str, end_at_hand: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 27: the body's end already read with ``[DONE]`` (the usual case) is read and
    the connection given back inline, with no release task, timer or shield per stream
    (~2.5 KB each while 1,000 streams end together); a late end still gets the grace
    task. Either way the connection goes back to the pool and on_close runs once."""
    from odsc_llm._streaming import _io, _sse

    spawned: list[str] = []
    for module in (_io, _sse):
        real = module.spawn

        def recording(coroutine: Any, real: Any = real) -> Any:
            spawned.append(coroutine.__qualname__)
            return real(coroutine)

        monkeypatch.setattr(module, "spawn", recording)
    script = serve(chunk_event("a") + chunk_event("b", "stop") + DONE)
    with HostileSSE(script if end_at_hand else _done_then_late_end) as server:
        twin = Twin(False, server.url)
        async with twin.client():
            for _ in range(3):
                assert await twin.text() == "ab"
                await settle(lambda: not checked_out(twin.http))
                assert checked_out(twin.http) == 0
            assert twin.closed == 3
    if end_at_hand:
        assert spawned == []
    else:
        assert spawned and all(name == "_release_after_done" for name in spawned), spawned


def build(twin: Twin) -> httpx.Request:
    return twin.http.build_request("POST", twin.url, content=b"{}")  # type: ignore[no-any-return]


# -- point 20: an open stream keeps what the answer needs, not each chunk ----------------


async def test_an_open_stream_does_not_keep_each_chunk(sync: bool) -> None:
    first, more = 200, 8000
    body = b"".join(chunk_event("tok ") for _ in range(first + more + 1))
    with HostileSSE(serve(body + chunk_event("end", "stop") + DONE, pieces=40)) as server:
        twin = Twin(sync, server.url)
        async with twin.client():
            stream: Any = await twin.open()
            tracemalloc.start()
            try:
                for _ in range(first):
                    await twin.next(stream)
                gc.collect()
                before, _ = tracemalloc.get_traced_memory()
                for _ in range(more):
                    await twin.next(stream)
                gc.collect()
                after, _ = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            per_chunk = (after - before) / more
            # The JSON of a chunk is ~170 bytes; its text piece, the only thing an answer
            # needs, is a small str (~53 bytes) in a list.
            assert per_chunk < 110, f"{per_chunk:.0f} bytes kept per chunk"
            completion = await final(stream)
    assert completion.choices[0].text == "tok " * (first + more + 1) + "end"
    assert completion.choices[0].finish_reason == "stop"
    assert twin.closed == 1
