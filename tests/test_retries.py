"""What is retried and how long it waits: Retry-After that cannot break the loop, streams
retried only before their first event, redirects refused, error bodies read bounded."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Generator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpx import HTTPXMock

import odsc_llm
from odsc_llm import _constants as C
from odsc_llm._retry import is_retryable, parse_retry_after
from odsc_llm.errors import StreamError

from .support.clients import (
    COMPLETION,
    ENDPOINT,
    CountingAuth,
    RecordingSleep,
    Twin,
    completion_chunk,
    sse,
)
from .support.hostile import HostileServer, huge_body, ok_json, redirect, stream_breaks_first

SYNC = pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture(params=[True, False], ids=["sync", "async"])
def twin(request: pytest.FixtureRequest, sleep: RecordingSleep) -> Generator[Twin, None, None]:
    t = Twin(request.param, ENDPOINT, auth=CountingAuth(), sleep=sleep)
    yield t
    t.close()


# -- Retry-After ----------------------------------------------------------------------

UNUSABLE = ["soon", "Wed, 99 Foo 2015 25:61:00 GMT", "1 2 3", "-5", "0", "", "nan", "inf", "1e400"]


@pytest.mark.parametrize("value", UNUSABLE)
def test_unusable_retry_after_falls_back_to_jittered_backoff(
    twin: Twin, httpx_mock: HTTPXMock, sleep: RecordingSleep, value: str
) -> None:
    """Garbage, negative and zero values neither crash the retry nor tighten it; when the
    retries run out the caller sees the RateLimitError."""
    for _ in range(3):
        httpx_mock.add_response(status_code=429, headers={"retry-after": value})
    with pytest.raises(odsc_llm.RateLimitError) as info:
        twin.call(prompt="x")
    assert info.value.status_code == 429
    assert len(httpx_mock.get_requests()) == 3
    assert len(sleep.waits) == 2
    assert 0 <= sleep.waits[0] <= C.INITIAL_RETRY_DELAY * 2
    assert 0 <= sleep.waits[1] <= C.INITIAL_RETRY_DELAY * 4
    assert twin.client._permits._semaphore._value == C.DEFAULT_LIMITS.max_connections  # released


@pytest.mark.parametrize("value", ["soon", "-1", "0", "x"])
def test_unusable_retry_after_ms_falls_back(value: str) -> None:
    assert parse_retry_after(httpx.Headers({"retry-after-ms": value})) is None
    assert parse_retry_after(httpx.Headers({"retry-after-ms": value, "retry-after": "2"})) == 2


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(["retry-after", "retry-after-ms"]))
def test_parse_retry_after_never_raises_and_stays_in_range(text: str, name: str) -> None:
    result = parse_retry_after({name: text})
    assert result is None or 0 < result <= C.MAX_RETRY_AFTER


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_parse_retry_after_of_any_number(value: float) -> None:
    result = parse_retry_after({"retry-after": repr(value)})
    assert result is None or 0 < result <= C.MAX_RETRY_AFTER
    if value > 0 and value != float("inf"):
        assert result == min(value, C.MAX_RETRY_AFTER)


# -- streams: retried before the first event, never after -----------------------------

GOOD = sse(completion_chunk("o"), completion_chunk("k", "stop"))


def test_is_retryable_for_stream_errors() -> None:
    assert is_retryable(StreamError("broke", before_first_event=True))
    assert not is_retryable(StreamError("broke after an event", before_first_event=False))


@pytest.mark.parametrize("after", [b"", b": ping\n\n"], ids=["nothing", "a-comment"])
def test_stream_broken_before_its_first_event_is_retried(sync: bool, after: bytes) -> None:
    """Retried, and signed anew: each attempt's request carries its own signature (the
    server sees what went on the wire, on either transport)."""
    with HostileServer(stream_breaks_first(1, GOOD, after=after)) as server:
        twin = Twin(sync, server.url, auth=CountingAuth(), sleep=RecordingSleep())
        try:
            assert twin.stream(prompt="x") == ["o", "k"]
        finally:
            twin.close()
    assert len(server.requests) == 2
    first, second = (head.lower() for head in server.requests)
    assert b"authorization: signature test-1\r\n" in first
    assert b"authorization: signature test-2\r\n" in second


def test_stream_broken_after_its_first_event_is_not_retried(sync: bool) -> None:
    first = sse(completion_chunk("Hi"), done=False)
    with HostileServer(stream_breaks_first(5, GOOD, after=first)) as server:
        twin = Twin(sync, server.url, auth=httpx.Auth(), sleep=RecordingSleep())
        received: list[str] = []
        try:
            with pytest.raises(StreamError) as info:
                twin.stream(prompt="x", received=received)
        finally:
            twin.close()
    assert received == ["Hi"] and info.value.partial_text == "Hi"
    assert not info.value.before_first_event
    assert len(server.requests) == 1


# -- redirects ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_refused_and_nothing_reaches_the_other_origin(
    sync: bool, status: int
) -> None:
    with HostileServer(ok_json(b'{"stolen": true}')) as other:
        location = other.url + "/predict"
        with HostileServer(redirect(status, location)) as server:
            twin = Twin(sync, server.url, auth=CountingAuth(), sleep=RecordingSleep())
            try:
                with pytest.raises(odsc_llm.APIStatusError) as info:
                    twin.call(prompt="x")
                with pytest.raises(odsc_llm.APIStatusError):
                    twin.stream(prompt="x")
            finally:
                twin.close()
    message = str(info.value)
    assert info.value.status_code == status
    assert str(status) in message and location in message
    assert "do not redirect" in message and "check the endpoint" in message
    assert len(server.requests) == 2  # one per call: a redirect is not retried either
    assert other.requests == [] and other.connections == 0


# -- error bodies are read bounded ----------------------------------------------------

HUGE = 300 * 1024 * 1024


@pytest.mark.parametrize(
    ("status", "stream"),
    [(500, False), (502, True), (200, True)],
    ids=["error", "stream-error", "stream-html"],
)
def test_a_huge_error_body_is_read_bounded(sync: bool, status: int, stream: bool) -> None:
    """A 300 MB-declared page (sent lazily): 64 KB read, the connection closed, the typed
    error raised at once; memory stays small."""
    with HostileServer(huge_body(status, HUGE)) as server:
        twin = Twin(sync, server.url, auth=httpx.Auth(), max_retries=0)
        tracemalloc.start()
        start = time.monotonic()
        try:
            with pytest.raises(odsc_llm.APIError) as info:
                twin.stream(prompt="x") if stream else twin.call(prompt="x")
            elapsed = time.monotonic() - start
            _, peak = tracemalloc.get_traced_memory()
            assert twin.client._permits._semaphore._value == C.DEFAULT_LIMITS.max_connections
        finally:
            tracemalloc.stop()
            twin.close()
        sent = server.sent
    error: Any = info.value
    if status == 200:
        assert isinstance(error, StreamError) and "text/html" in str(error)
    else:
        assert isinstance(error, odsc_llm.APIStatusError) and error.status_code == status
        assert len(error.response.content) == C.MAX_ERROR_BODY_BYTES
    assert "xxxx" in str(error)
    assert elapsed < 10
    assert peak < 8 * 1024 * 1024
    assert sent < 64 * 1024 * 1024  # the server was cut off, far from its 300 MB


def test_a_small_error_body_is_read_whole(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=400, json={"message": "m" * 1000})
    client = odsc_llm.Client(ENDPOINT, auth=httpx.Auth())
    with pytest.raises(odsc_llm.BadRequestError) as info:
        client.completions.create(prompt="x")
    assert info.value.body == {"message": "m" * 1000}
    assert info.value.response.json() == {"message": "m" * 1000}


# -- what a retry re-sends ------------------------------------------------------------


def test_a_timed_out_call_is_sent_again_unless_max_retries_is_0(
    twin: Twin, httpx_mock: HTTPXMock
) -> None:
    """The server may have generated the first answer: max_retries=0 sends it once."""
    httpx_mock.add_exception(httpx.ReadTimeout("slow"))
    httpx_mock.add_response(json=COMPLETION)
    assert twin.call(prompt="x").choices[0].text == "Hello!"
    assert len(httpx_mock.get_requests()) == 2
    httpx_mock.add_exception(httpx.ReadTimeout("slow"))
    with pytest.raises(odsc_llm.APITimeoutError):
        twin.call(prompt="x", max_retries=0)
    assert len(httpx_mock.get_requests()) == 3
