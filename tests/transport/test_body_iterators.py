"""A body read broken off (a bounded error body, an expired deadline) ends its byte
iterators in the call, on both async transports.

httpx's byte iterators are layers of async generators (httpx's, httpcore's or the aiohttp
transport's). One left suspended is finalized by the garbage collector, which only
*schedules* its ``aclose()`` on the loop: on a loop stopped first (``run_until_complete``,
as the sync-over-async wrappers do) it never runs, and Python 3.13 warns "coroutine method
'aclose' of '…__aiter__' was never awaited" (an error here). On every Python the test also
looks for the generators themselves, left suspended after the call.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import warnings
from typing import Any

import httpx
import pytest

import odsc_llm
from odsc_llm import _constants as C
from odsc_llm.types.params import Transport

from ..support.hostile import HostileServer, huge_body, trickle_body

HUGE = 300 * 1024 * 1024


def _suspended_body_iterators() -> list[str]:
    """The body's async generators still suspended (not run to their end, not closed)."""
    gc.collect()
    names = []
    for obj in gc.get_objects():
        if inspect.isasyncgen(obj) and obj.ag_frame is not None:
            code = obj.ag_frame.f_code
            if any(part in code.co_filename for part in ("httpx", "httpcore", "odsc_llm")):
                names.append(
                    f"{code.co_qualname if hasattr(code, 'co_qualname') else code.co_name}"
                )
    return names


def _call_on_private_loop(
    url: str, transport: Transport | None, own_http: bool = False, **kwargs: Any
) -> Exception:
    loop = asyncio.new_event_loop()
    extra: dict[str, Any] = {} if transport is None else {"transport": transport}
    if own_http:  # sockets not capped: the deadline is checked between body chunks
        extra = {"http_client": httpx.AsyncClient()}
    client = odsc_llm.AsyncClient(url, auth=httpx.Auth(), max_retries=0, **extra)
    try:
        with pytest.raises(odsc_llm.APIError) as info:
            loop.run_until_complete(client.completions.create(prompt="x", **kwargs))
        left = _suspended_body_iterators()
        loop.run_until_complete(client.aclose())
        if own_http:
            loop.run_until_complete(extra["http_client"].aclose())
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # 3.13: "never awaited"
            loop.close()
            gc.collect()
    assert left == [], left
    return info.value


@pytest.mark.parametrize("transport", [None, "aiohttp"], ids=["httpx", "aiohttp"])
@pytest.mark.parametrize("stream", [False, True], ids=["call", "stream"])
def test_a_bounded_error_body_leaves_no_byte_iterator_behind(
    transport: Transport | None, stream: bool
) -> None:
    with HostileServer(huge_body(500, HUGE)) as server:
        error = _call_on_private_loop(server.url, transport, stream=stream)
    assert isinstance(error, odsc_llm.APIStatusError) and error.status_code == 500
    assert len(error.response.content) == C.MAX_ERROR_BODY_BYTES


@pytest.mark.parametrize(
    ("transport", "own_http"),
    [(None, False), ("aiohttp", False), (None, True)],
    ids=["httpx", "aiohttp", "own-http-client"],
)
def test_a_deadline_in_the_body_leaves_no_byte_iterator_behind(
    transport: Transport | None, own_http: bool
) -> None:
    """Capped sockets time out inside the iterators (which then end); an http_client of
    the caller's is checked between body chunks, outside them (the case Python 3.13
    warned about)."""
    with HostileServer(trickle_body(interval=0.05)) as server:
        error = _call_on_private_loop(server.url, transport, own_http, total_timeout=0.5)
    assert isinstance(error, odsc_llm.APITimeoutError), error
