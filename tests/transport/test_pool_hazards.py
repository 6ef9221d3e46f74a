"""The clients' own pools against two hazards of httpcore's (``odsc_llm._transport._pool``):

- a server (or a broken proxy) that writes a second whole answer past the first one's
  ``Content-Length``: the next request on that connection would read it as its own;
- a queued request cancelled just as it is handed a new, unopened connection: the
  connection would keep its slot for good, and every later request time out on the pool
  (encode/httpcore#1093).

Sync and async twins, on real sockets (127.0.0.1).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpcore
import httpx
import pytest

from odsc_llm._transport import is_linear
from odsc_llm.integrations.openai import async_http_client, base_url, http_client

from ..support import clients
from ..support.clients import COMPLETION, Twin
from ..support.hostile import HostileServer

SYNC = pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])


def _answer(text: str, close: bool = False) -> bytes:
    body = json.dumps({**COMPLETION, "choices": [{**COMPLETION["choices"][0], "text": text}]})
    head = (
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n" + ("connection: close\r\n" if close else "") + "\r\n"
    )
    return (head + body).encode()


def _answer_then_inject(gap: float) -> Any:
    """Answers each request with its number; the first answer is followed by a second
    whole answer no request asked for: in the same write (``gap`` 0), or ``gap`` s later."""

    async def handler(server: HostileServer, reader: Any, writer: Any) -> None:
        while True:
            await server.read_request(reader)
            number = len(server.requests)
            if number == 1 and gap:
                await server.write(writer, _answer("answer 1"))
                await asyncio.sleep(gap)
                await server.write(writer, _answer("injected"))
                continue
            extra = _answer("injected") if number == 1 else b""
            await server.write(writer, _answer(f"answer {number}") + extra)

    return handler


@pytest.mark.parametrize("gap", [0.0, 0.05], ids=["read-with-the-answer", "still-in-the-socket"])
def test_bytes_past_content_length_never_answer_the_next_call(sync: bool, gap: float) -> None:
    """The first connection has bytes left once its answer is read (buffered with it, or
    still in the socket): it is not reused, so the second call gets its own answer."""
    with HostileServer(_answer_then_inject(gap)) as server:
        twin = Twin(sync, server.url, auth=httpx.Auth(), max_retries=0)
        try:
            assert is_linear(twin.client._http) or clients.ASYNC_TRANSPORT == "aiohttp"
            first = twin.call(prompt="one")
            threading.Event().wait(gap * 4)  # the injected answer has arrived
            second = twin.call(prompt="two")
        finally:
            twin.close()
    assert first.choices[0].text == "answer 1"
    assert second.choices[0].text == "answer 2"
    assert server.connections == 2


async def _one_answer_per_connection(server: HostileServer, reader: Any, writer: Any) -> None:
    await server.read_request(reader)
    await server.write(writer, _answer("ok", close=True))


def _limits_and_url(server: HostileServer) -> tuple[dict[str, Any], str]:
    kwargs = {
        "limits": httpx.Limits(max_connections=1, max_keepalive_connections=0),
        # a stranded slot makes the last call fail here, not hang
        "timeout": httpx.Timeout(10.0, pool=2.0),
    }
    return kwargs, base_url(server.url) + "/completions"


def test_a_waiter_failing_as_it_is_handed_a_new_connection_frees_its_slot_sync(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A thread whose pool wait ends (its ``PoolTimeout``, an interrupt) just as the pool
    hands it a new connection must not strand that connection: later calls still get one."""
    real_wait = httpcore._sync.connection_pool.PoolRequest.wait_for_connection

    def wait(self: Any, timeout: float | None = None) -> Any:
        connection = real_wait(self, timeout)
        if any(name.lower() == b"x-give-up" for name, _ in self.request.headers):
            raise httpcore.PoolTimeout("gave up as the connection arrived")
        return connection

    monkeypatch.setattr(httpcore._sync.connection_pool.PoolRequest, "wait_for_connection", wait)
    with HostileServer(_one_answer_per_connection) as server:
        kwargs, url = _limits_and_url(server)
        client = http_client(server.url, httpx.Auth(), flavor="httpx", **kwargs)
        errors: list[BaseException] = []

        def waiter() -> None:
            try:
                client.post(url, json={"prompt": "b"}, headers={"x-give-up": "1"})
            except httpx.PoolTimeout as exc:
                errors.append(exc)

        with client:
            assert is_linear(client)
            pool = client._transport._pool  # type: ignore[attr-defined]
            first = client.send(client.build_request("POST", url, json={}), stream=True)
            thread = threading.Thread(target=waiter)
            thread.start()
            end = time.monotonic() + 10
            while len(pool._requests) < 2 and time.monotonic() < end:
                time.sleep(0.01)
            assert len(pool._requests) == 2, "the second call never queued"
            first.close()  # its connection closes: the waiter is handed a new one
            thread.join(10)
            assert len(errors) == 1
            later = client.post(url, json={"prompt": "c"})
    assert later.status_code == 200


def test_a_waiter_cancelled_as_it_is_handed_a_new_connection_frees_its_slot_async() -> None:
    """A task cancelled in the same loop turn as the pool hands it a new connection must
    not strand that connection (encode/httpcore#1093): later calls still get one."""

    async def run(server: HostileServer) -> int:
        kwargs, url = _limits_and_url(server)
        async with async_http_client(server.url, httpx.Auth(), flavor="httpx", **kwargs) as client:
            assert is_linear(client)
            pool = client._transport._pool  # type: ignore[attr-defined]
            first = await client.send(client.build_request("POST", url, json={}), stream=True)
            waiter = asyncio.create_task(client.post(url, json={"prompt": "b"}))
            for _ in range(500):
                await asyncio.sleep(0.01)
                if len(pool._requests) == 2:
                    break
            assert len(pool._requests) == 2, "the second call never queued"
            await first.aclose()  # its connection closes: the waiter is handed a new one
            assert not waiter.done()
            waiter.cancel()  # before the waiter runs again: cancelled at the assignment
            with pytest.raises(asyncio.CancelledError):
                await waiter
            later = await client.post(url, json={"prompt": "c"})
            return later.status_code

    with HostileServer(_one_answer_per_connection) as server:
        assert asyncio.run(run(server)) == 200
