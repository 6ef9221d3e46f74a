"""AsyncClient against pytest-httpx mocks: the same behaviour as the sync client."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

import odsc_llm
from odsc_llm import types

from .support.clients import (
    CHAT,
    COMPLETION,
    EMBEDDINGS,
    ENDPOINT,
    SSE_HEADERS,
    STREAM,
    CountingAuth,
    completion_chunk,
    sse,
)


class AsyncRecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleep() -> AsyncRecordingSleep:
    return AsyncRecordingSleep()


@pytest.fixture
async def aclient(sleep: AsyncRecordingSleep) -> AsyncGenerator[odsc_llm.AsyncClient, None]:
    async with odsc_llm.AsyncClient(ENDPOINT, auth=CountingAuth(), _sleep=sleep) as c:
        yield c


async def test_async_completion_chat_embeddings(
    aclient: odsc_llm.AsyncClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        json=COMPLETION,
        match_headers={"route": "/v1/completions"},
        headers={"opc-request-id": "a-rid"},
    )
    httpx_mock.add_response(json=CHAT, match_headers={"route": "/v1/chat/completions"})
    httpx_mock.add_response(json=EMBEDDINGS, match_headers={"route": "/v1/embeddings"})
    c = await aclient.completions.create(prompt="x")
    assert c.choices[0].text == "Hello!" and c.request_id == "a-rid"
    r = await aclient.chat.completions.create(messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.content == "Hi there"
    e = await aclient.embeddings.create(input=["a", "b"])
    assert len(e.data) == 2


async def test_async_stream(aclient: odsc_llm.AsyncClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=STREAM,
        headers=SSE_HEADERS,
        content=sse(completion_chunk("a"), completion_chunk("b", "stop")),
    )
    async with await aclient.completions.create(prompt="x", stream=True) as stream:
        texts = [chunk.choices[0].text async for chunk in stream]
    assert texts == ["a", "b"]
    request = httpx_mock.get_request()
    assert request is not None and request.headers["enable-streaming"] == "true"
    assert json.loads(request.content)["stream"] is True


async def test_async_stream_helpers(aclient: odsc_llm.AsyncClient, httpx_mock: HTTPXMock) -> None:
    body = sse(completion_chunk("Hel"), completion_chunk("lo", "stop"))
    httpx_mock.add_response(headers=SSE_HEADERS, content=body)
    httpx_mock.add_response(headers=SSE_HEADERS, content=body)
    stream = await aclient.completions.create(prompt="x", stream=True)
    assert [t async for t in stream.text()] == ["Hel", "lo"]
    stream = await aclient.completions.create(prompt="x", stream=True)
    final = await stream.get_final_completion()
    assert isinstance(final, types.Completion) and final.choices[0].text == "Hello"


async def test_async_truncated_stream_raises(
    aclient: odsc_llm.AsyncClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(headers=SSE_HEADERS, content=sse(completion_chunk("a"), done=False))
    stream = await aclient.completions.create(prompt="x", stream=True)
    with pytest.raises(odsc_llm.StreamError, match=r"\[DONE\]"):
        async for _ in stream:
            pass


async def test_async_retry_after_and_fresh_signature(
    aclient: odsc_llm.AsyncClient, httpx_mock: HTTPXMock, sleep: AsyncRecordingSleep
) -> None:
    httpx_mock.add_response(status_code=429, headers={"retry-after": "2"})
    httpx_mock.add_exception(httpx.ConnectError("refused"))
    httpx_mock.add_response(json=COMPLETION)
    await aclient.completions.create(prompt="x")
    assert sleep.waits[0] == 2.0 and len(sleep.waits) == 2
    assert [r.headers["authorization"] for r in httpx_mock.get_requests()] == [
        "Signature test-1",
        "Signature test-2",
        "Signature test-3",
    ]


async def test_async_errors_not_retried(
    aclient: odsc_llm.AsyncClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        status_code=404,
        json={"code": "NotAuthorizedOrNotFound", "message": "nope"},
        headers={"opc-request-id": "nf"},
    )
    with pytest.raises(odsc_llm.NotFoundError) as info:
        await aclient.chat.completions.create(messages=[{"role": "user", "content": "x"}])
    assert info.value.request_id == "nf"
    assert len(httpx_mock.get_requests()) == 1


async def test_async_real_sleep_honours_retry_after(httpx_mock: HTTPXMock) -> None:
    """With the default sleep, the wait really happens (Retry-After: 0.2 s)."""
    async with odsc_llm.AsyncClient(ENDPOINT, auth=httpx.Auth()) as client:
        httpx_mock.add_response(status_code=503, headers={"retry-after": "0.2"})
        httpx_mock.add_response(json=COMPLETION)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await client.completions.create(prompt="x")
        assert loop.time() - start >= 0.19


class AsyncTrackingStream(httpx.AsyncByteStream):
    def __init__(self) -> None:
        self.closed = False

    async def __aiter__(self) -> Any:
        for i in range(1000):
            yield sse(completion_chunk(str(i)), done=False)
        yield b"data: [DONE]\n\n"

    async def aclose(self) -> None:
        self.closed = True


async def test_async_stream_closed_by_async_with_and_aclose(
    aclient: odsc_llm.AsyncClient, httpx_mock: HTTPXMock
) -> None:
    first, second = AsyncTrackingStream(), AsyncTrackingStream()
    httpx_mock.add_response(headers=SSE_HEADERS, stream=first)
    httpx_mock.add_response(headers=SSE_HEADERS, stream=second)
    async with await aclient.completions.create(prompt="x", stream=True) as stream:
        async for _ in stream:
            break
    assert first.closed
    stream = await aclient.completions.create(prompt="x", stream=True)
    await stream.__anext__()
    await stream.aclose()
    assert second.closed


async def test_async_stream_dropped_is_closed_on_gc(
    aclient: odsc_llm.AsyncClient, httpx_mock: HTTPXMock
) -> None:
    tracked = AsyncTrackingStream()
    httpx_mock.add_response(headers=SSE_HEADERS, stream=tracked)
    stream = await aclient.completions.create(prompt="x", stream=True)
    await stream.__anext__()
    del stream
    gc.collect()
    for _ in range(5):
        await asyncio.sleep(0)
    assert tracked.closed


def test_sync_client_works_inside_a_running_loop(httpx_mock: HTTPXMock) -> None:
    """Jupyter runs a loop in the main thread: the sync client must not need asyncio.run."""
    httpx_mock.add_response(json=COMPLETION)

    async def inside() -> str:
        with odsc_llm.Client(ENDPOINT, auth=httpx.Auth()) as client:
            return client.completions.create(prompt="x").choices[0].text

    assert asyncio.run(inside()) == "Hello!"


async def test_async_break_releases_the_connection(
    aclient: odsc_llm.AsyncClient, httpx_mock: HTTPXMock
) -> None:
    tracked = AsyncTrackingStream()
    httpx_mock.add_response(headers=SSE_HEADERS, stream=tracked)
    stream = await aclient.completions.create(prompt="x", stream=True)
    async for _ in stream:
        break
    for _ in range(20):  # the loop's async-generator finalizer runs on a later tick
        if tracked.closed:
            break
        await asyncio.sleep(0.01)
    assert tracked.closed and stream.response.is_closed
