"""The transports build their pool themselves, through httpcore's public arguments, and
only on the httpcore releases the linear pool is tested on."""

from __future__ import annotations

import logging

import httpcore
import httpx
import httpx_sse
import pytest

from odsc_llm._transport import (
    SUPPORTED_HTTPCORE,
    AsyncHTTPTransport,
    HTTPTransport,
    _transports,
    is_capped,
    is_linear,
    linear_pool_supported,
    max_connections,
    pool_of,
)
from odsc_llm._transport._async_backend import AsyncDeadlineBackend
from odsc_llm._transport._backend import DeadlineBackend
from odsc_llm._transport._pool import AsyncLinearConnectionPool, LinearConnectionPool


def test_the_installed_httpcore_is_one_the_pool_is_tested_on() -> None:
    """Fails on a new httpcore release outside SUPPORTED_HTTPCORE: check the linear pool
    against it (tests/transport), then widen the range."""
    assert linear_pool_supported(), (httpcore.__version__, SUPPORTED_HTTPCORE)


def test_the_installed_httpx_sse_is_the_tested_one() -> None:
    """_streaming's SSE decoding uses httpx-sse's decoder classes, which it does not export:
    pyproject bounds httpx-sse to 0.4.x, and this fails on another release until checked."""
    assert httpx_sse.__version__.startswith("0.4."), httpx_sse.__version__
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder  # the names we use

    assert SSEDecoder and SSELineDecoder


@pytest.mark.parametrize(
    ("version", "supported"),
    [("1.0.9", True), ("1.0.3", True), ("1.0.2", False), ("1.1.0", False), ("2.0", False)],
)
def test_the_supported_range(version: str, supported: bool) -> None:
    assert linear_pool_supported(version) is supported


@pytest.mark.parametrize(
    ("transport", "pool", "backend"),
    [
        (HTTPTransport, LinearConnectionPool, DeadlineBackend),
        (AsyncHTTPTransport, AsyncLinearConnectionPool, AsyncDeadlineBackend),
    ],
    ids=["sync", "async"],
)
def test_a_transport_builds_the_linear_pool_on_the_deadline_backend(
    transport: type[httpx.HTTPTransport], pool: type, backend: type
) -> None:
    made = transport(limits=httpx.Limits(max_connections=7, max_keepalive_connections=3))
    built = made._pool  # type: ignore[attr-defined]
    assert type(built) is pool  # built so, never re-classed
    assert isinstance(built._network_backend, backend)
    assert (built._max_connections, built._max_keepalive_connections) == (7, 3)
    assert not built._http2


@pytest.mark.parametrize("transport", [HTTPTransport, AsyncHTTPTransport], ids=["sync", "async"])
def test_outside_the_range_httpcores_own_pool_is_used_and_said_once(
    transport: type[httpx.HTTPTransport],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(httpcore, "__version__", "1.1.0")
    monkeypatch.setattr(_transports, "_said_unsupported", False)
    with caplog.at_level(logging.DEBUG, logger="odsc_llm"):
        first, second = transport(), transport()
    for made in (first, second):
        assert type(made._pool) in (httpcore.ConnectionPool, httpcore.AsyncConnectionPool)  # type: ignore[attr-defined]
        assert isinstance(made._pool._network_backend, (DeadlineBackend, AsyncDeadlineBackend))  # type: ignore[attr-defined]
    said = [r for r in caplog.records if "httpcore 1.1.0 is outside" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.DEBUG


def test_the_accessors_on_clients_that_are_not_ours() -> None:
    mock = httpx.MockTransport(lambda request: httpx.Response(200))
    with httpx.Client(transport=mock) as mocked, httpx.Client() as plain:
        assert pool_of(mocked) is None
        assert not is_linear(mocked) and not is_capped(mocked)
        assert max_connections(mocked) == 1000  # ours, when it cannot be read
        assert not is_linear(plain) and not is_capped(plain)
        assert max_connections(plain) == 100  # httpx's own default
    with httpx.Client(transport=HTTPTransport()) as ours:
        assert is_linear(ours) and is_capped(ours)
