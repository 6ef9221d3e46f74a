"""Helpers of the AQUA-surface tests: one test body for the sync and the async client."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from odsc_llm.testing import LocalDeployment

MODES = ["sync", "async"]


async def call(value: Any) -> Any:
    """``value``, awaited when it is awaitable (an async client's answer)."""
    if inspect.isawaitable(value):
        return await value
    return value


async def collect(iterable: Any) -> list[Any]:
    """The items of a sync or async iterator."""
    if hasattr(iterable, "__aiter__"):
        return [item async for item in iterable]
    return list(iterable)


@asynccontextmanager
async def client_of(local: LocalDeployment, mode: str, **kwargs: Any) -> AsyncIterator[Any]:
    """A client of ``local`` of the given mode, closed at the end."""
    kwargs.setdefault("max_retries", 0)
    if mode == "sync":
        with local.client(**kwargs) as client:
            yield client
    else:
        async with local.async_client(**kwargs) as aclient:
            yield aclient
