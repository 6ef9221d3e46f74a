"""Shared test data and helpers (no fixtures, no tests): imported by the test modules.

``Twin`` runs one test body on ``Client`` or ``AsyncClient``, so the sync and async
twins are tested by the same code (``@pytest.mark.parametrize("sync", [True, False])``,
or the ``sync`` fixture of tests/conftest.py, which adds the async client on aiohttp).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Generator
from operator import attrgetter
from typing import Any

import httpx

import odsc_llm
from odsc_llm import _constants as C
from odsc_llm._streaming import chunk_text

ENDPOINT = (
    "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/"
    "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaatest"
)
PREDICT = ENDPOINT + "/predict"
STREAM = ENDPOINT + "/predictWithResponseStream"

COMPLETION = {
    "id": "cmpl-1",
    "object": "text_completion",
    "created": 1,
    "model": "odsc-llm",
    "choices": [{"index": 0, "text": "Hello!", "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    "kv_transfer_params": None,
}
CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "odsc-llm",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi there", "tool_calls": []},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
}
EMBEDDINGS = {
    "object": "list",
    "data": [
        {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]},
        {"object": "embedding", "index": 1, "embedding": [0.3, 0.4]},
    ],
    "model": "odsc-llm",
    "usage": {"prompt_tokens": 2, "total_tokens": 2},
}


#: The transport of the async clients that ``Twin`` and :func:`async_http` build: the
#: ``sync`` and ``async_transport`` fixtures (tests/conftest.py) set it for each test.
ASYNC_TRANSPORT = "httpx"


def async_http(**kwargs: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient(**kwargs)`` on the transport under test (``limits`` go to
    the aiohttp transport's pool)."""
    if ASYNC_TRANSPORT == "aiohttp":
        from odsc_llm._transport._aiohttp import AiohttpTransport

        limits = kwargs.pop("limits", C.DEFAULT_LIMITS)
        return httpx.AsyncClient(transport=AiohttpTransport(limits=limits), **kwargs)
    return httpx.AsyncClient(**kwargs)


def checked_out(http: httpx.Client | httpx.AsyncClient) -> int:
    """How many of an httpx client's connections a request holds (httpcore's pool, or the
    aiohttp transport's connector)."""
    transport: Any = getattr(http, "_transport", None)
    session = getattr(transport, "_session", None)
    if session is not None:  # odsc_llm's AiohttpTransport, once it has sent
        return len(session.connector._acquired)
    pool = getattr(transport, "_pool", None)
    return 0 if pool is None else len(pool._requests)


def open_connections(http: httpx.Client | httpx.AsyncClient) -> int:
    """How many connections an httpx client's pool holds open, in use or idle."""
    transport: Any = getattr(http, "_transport", None)
    session = getattr(transport, "_session", None)
    if session is not None:
        connector = session.connector
        idle = sum(len(conns) for conns in connector._conns.values())
        return len(connector._acquired) + idle
    pool = getattr(transport, "_pool", None)
    return 0 if pool is None else len(pool.connections)


class CountingAuth(httpx.Auth):
    """Stands in for OCIAuth: stamps each send with a fresh counter value."""

    def __init__(self) -> None:
        self.count = 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.count += 1
        request.headers["authorization"] = f"Signature test-{self.count}"
        yield request


class RecordingSleep:
    """An injectable sleep that records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    def async_version(self) -> Any:
        async def sleep(seconds: float) -> None:
            self.waits.append(seconds)

        return sleep


def sse(*events: Any, done: bool = True) -> bytes:
    parts = [f"data: {json.dumps(e) if not isinstance(e, str) else e}\n\n" for e in events]
    if done:
        parts.append("data: [DONE]\n\n")
    return "".join(parts).encode()


def completion_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "cmpl-s",
        "object": "text_completion",
        "created": 1,
        "model": "odsc-llm",
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}],
    }


SSE_HEADERS = {"content-type": "text/event-stream", "opc-request-id": "stream-rid"}


class Twin:
    """The same calls on a sync or an async client (the async one on a private loop)."""

    def __init__(
        self, sync: bool, *args: Any, sleep: RecordingSleep | None = None, **kwargs: Any
    ) -> None:
        self.sync = sync
        self.loop: asyncio.AbstractEventLoop | None = None
        if sleep is not None:
            kwargs["_sleep"] = sleep if sync else sleep.async_version()
        if sync:
            self.client: Any = odsc_llm.Client(*args, **kwargs)
        else:
            self.loop = asyncio.new_event_loop()
            if "http_client" not in kwargs:
                kwargs["transport"] = ASYNC_TRANSPORT
            self.client = odsc_llm.AsyncClient(*args, **kwargs)

    def run(self, value: Any) -> Any:
        """``value`` itself (sync) or what awaiting it gives (async)."""
        if self.loop is None:
            return value
        return self.loop.run_until_complete(value)

    def call(self, method: str = "completions.create", **kwargs: Any) -> Any:
        """``client.<method>(**kwargs)``, e.g. ``"chat.completions.create"``."""
        return self.run(attrgetter(method)(self.client)(**kwargs))

    def stream(
        self, method: str = "completions.create", received: list[str] | None = None, **kwargs: Any
    ) -> list[str]:
        """Read a stream to its end; each chunk's text is appended to ``received`` as it
        arrives (so a test sees what came before a failure)."""
        received = [] if received is None else received
        create = attrgetter(method)(self.client)
        if self.loop is None:
            with create(stream=True, **kwargs) as stream:
                for chunk in stream:
                    received.append(chunk_text(chunk) or "")
            return received

        async def read() -> None:
            stream = await create(stream=True, **kwargs)
            async with stream:
                async for chunk in stream:
                    received.append(chunk_text(chunk) or "")

        self.loop.run_until_complete(read())
        return received

    def next(self, stream: Any) -> Any:
        """The next chunk of a stream the test holds open."""
        return next(stream) if self.loop is None else self.run(stream.__anext__())

    def final(self, method: str = "completions.create", **kwargs: Any) -> Any:
        """A stream's ``get_final_completion()``."""
        stream = self.call(method, stream=True, **kwargs)
        return self.run(stream.get_final_completion())

    def close(self) -> None:
        if self.loop is None:
            self.client.close()
            return
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


class FakeTime:
    """An injected clock: the polls are real HTTP calls, the sleeps take no time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
