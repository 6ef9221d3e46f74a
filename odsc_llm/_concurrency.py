"""Where the sync and async clients really differ: the in-flight bound and blocking calls.

``_async_client.py`` is the one source of both clients (``scripts/unasync.py`` writes
``_client.py`` from it, replacing ``AsyncPermits`` with ``Permits`` and ``arun_blocking``
with ``run_blocking``), so each pair here has the same shape.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ._options import CallOptions, Permit
from ._streaming import close_soon

if TYPE_CHECKING:
    import httpx

__all__ = [
    "AsyncPermits",
    "Permits",
    "arelease_when_collected",
    "arun_blocking",
    "release_when_collected",
    "run_blocking",
]

T = TypeVar("T")


class Permits:
    """At most ``size`` requests in flight (the pool's size): a thread waits for a free
    place until the call's deadline."""

    def __init__(self, size: int) -> None:
        self._semaphore = threading.Semaphore(size)

    def acquire(self, options: CallOptions, url: object) -> Permit:
        remaining = options.remaining()
        timeout = None if remaining is None else max(remaining, 0.0)
        if not self._semaphore.acquire(timeout=timeout):
            raise options.passed("waiting for a free connection", url)
        return Permit(self._semaphore.release)


class AsyncPermits:
    """The async twin of :class:`Permits` (a task waits)."""

    def __init__(self, size: int) -> None:
        self._semaphore = asyncio.Semaphore(size)

    async def acquire(self, options: CallOptions, url: object) -> Permit:
        semaphore = self._semaphore
        if semaphore.locked():
            try:
                await asyncio.wait_for(semaphore.acquire(), options.remaining())
            except asyncio.TimeoutError:  # not the builtin before 3.11: catch both
                raise options.passed("waiting for a free connection", url) from None
        else:
            await semaphore.acquire()  # free: returns at once
        return Permit(semaphore.release)


def run_blocking(function: Callable[..., T], *args: object) -> T:
    """``function(*args)``: a sync caller may block."""
    return function(*args)


async def arun_blocking(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` in a worker thread, off the event loop."""
    return await asyncio.to_thread(function, *args)


def release_when_collected(http: httpx.Client) -> None:
    """A sync client dropped without ``close()``: nothing to do here. A finalizer runs in
    whatever thread the collector interrupts, which may hold the pool's lock: closing the
    pool from it could deadlock that thread. httpx closes the sockets when they are
    collected."""


def arelease_when_collected(http: httpx.AsyncClient) -> None:
    """An async client dropped without ``aclose()``: close its pool on the running event
    loop (a finalizer cannot await), so its sockets do not leak."""
    if not http.is_closed:
        close_soon(http.aclose)
