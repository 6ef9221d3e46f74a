"""The OpenAI adapter's sync builders are the twins scripts/unasync.py writes from the
async ones, over one body (``_build``, ``_openai_options``) keyed by the client class."""

from __future__ import annotations

import inspect

import httpx
import pytest

from odsc_llm.integrations import openai as adapter
from odsc_llm.integrations.openai import _http, _options
from odsc_llm.testing import LocalDeployment
from tests.support.twins import assert_twins


def test_http_client_is_the_twin_of_async_http_client() -> None:
    assert_twins(
        adapter.http_client,
        adapter.async_http_client,
        renames={"async_http_client": "http_client"},
    )


def test_openai_client_is_the_twin_of_async_openai_client() -> None:
    assert_twins(
        adapter.openai_client,
        adapter.async_openai_client,
        renames={"async_openai_client": "openai_client", "async_http_client": "http_client"},
    )


KINDS: list[_options.ClientKind] = ["Client", "AsyncClient"]


@pytest.mark.parametrize("kind", KINDS)
async def test_one_body_builds_both_kinds(
    emulator: LocalDeployment, kind: _options.ClientKind
) -> None:
    client = _http._build(
        kind,
        emulator.deployment,
        emulator.auth,
        "header",
        "predictWithResponseStream",
        "httpx",
        {},
    )
    try:
        assert type(client) is getattr(httpx, kind)
        assert client.event_hooks["response"][0] is _options.response_hook(kind)
    finally:
        if isinstance(client, httpx.AsyncClient):
            await client.aclose()
        else:
            client.close()


def test_the_async_client_awaits_an_async_409_hook() -> None:
    assert inspect.iscoroutinefunction(_options.response_hook("AsyncClient"))
    assert not inspect.iscoroutinefunction(_options.response_hook("Client"))
