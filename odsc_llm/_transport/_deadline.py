"""Wall-clock call deadlines, enforced at the socket: every wait is capped to the time left.

httpx's timeouts bound each socket wait, not a whole exchange: a server that trickles
its headers or body one byte a second never trips them, and httpcore reads the headers
in a loop no caller can interrupt. So the clients' transports build their pool on
this network backend (httpcore's public ``network_backend=``):
while a call runs (``deadline.set(...)``, a context variable, so threads and tasks each
see their own), every connect, read and write waits at most until the call's deadline,
and one that would start after it fails at once with httpcore's own timeout error (which
httpx maps to ``httpx.TimeoutException``, then to ``APITimeoutError``).

This module is the I/O-free core: the context variable and :func:`capped`. The backends
that call it are ``_async_backend`` (the source) and ``_backend`` (its sync twin, written
from it by ``scripts/unasync.py``).
"""

from __future__ import annotations

import time
from contextvars import ContextVar

__all__ = ["capped", "deadline"]

#: The running call's deadline (a ``time.monotonic()`` instant), or None outside a call.
deadline: ContextVar[float | None] = ContextVar("odsc_llm_deadline", default=None)


def capped(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` shortened to the running call's time left; ``error`` once none is left."""
    end = deadline.get()
    if end is None:
        return timeout
    remaining = end - time.monotonic()
    if remaining <= 0:
        raise error("the call's deadline (total_timeout) passed")
    return remaining if timeout is None else min(timeout, remaining)
