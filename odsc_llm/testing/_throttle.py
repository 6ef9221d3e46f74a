"""A deployment at its limits: the emulator's admission throttle.

``LocalDeployment(capacity=64, rate_limit=150, queue_size=64)`` answers the way a
saturated deployment does, which is what the batch runner's controller is measured
against:

* **Tenancy rate limit.** Above ``rate_limit`` requests/s (a token bucket holding one
  second's worth) a request is refused at once with a 429 and an OCI body,
  ``{"code": "TooManyRequests", "message": "Tenancy request-rate limit exceeded..."}``,
  and no ``Retry-After`` (the service promises none). Refused requests use no token.
* **Capacity.** At most ``capacity`` non-streamed answers are generated at once; each
  takes ``token_delay`` seconds per completion token. Others wait in the queue.
* **Queue.** When ``queue_size`` requests already wait (default: ``capacity``), the
  next one gets a 503 at once, as a model server whose queue is full.

Streamed requests count against the rate limit only (their pace is the stream's own
``token_delay``). Every decision is logged in :attr:`Throttle.events` as
``(time.monotonic(), status)`` with 200 for admitted, so a benchmark can ask "how many
429s after the first five seconds". Runs on the emulator's event loop only.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from . import _answers
from ._faults import oci_error_body

__all__ = ["RATE_LIMIT_MESSAGE", "Throttle"]

RATE_LIMIT_MESSAGE = (
    "Tenancy request-rate limit exceeded. Please retry the request later; if this "
    "persists, reduce the request rate or ask for a higher limit."
)
QUEUE_FULL_MESSAGE = "The model server is overloaded: its request queue is full. Retry later."


def _check(name: str, value: float | None, integer: bool) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number or None, not {value!r}.")
    if integer and not isinstance(value, int):
        raise ValueError(f"{name} must be an int, not {value!r}.")
    if not math.isfinite(value) or value <= 0 or (name == "queue_size" and value < 0):
        raise ValueError(f"{name} must be > 0, not {value!r}.")


def _completion_tokens(payload: dict[str, Any]) -> int:
    """How many tokens the emulator will generate for this request (at least one)."""
    try:
        plan = (
            _answers.plan_chat(payload)
            if "messages" in payload
            else _answers.plan_completion(payload)
        )
        usage = _answers.full_answer(plan).get("usage") or {}
        return max(1, int(usage.get("completion_tokens", 1)))
    except Exception:  # a bad request: the answer step refuses it, at no cost here
        return 1


class Throttle:
    """Rate limit, capacity and queue of one emulated deployment."""

    def __init__(
        self,
        *,
        capacity: int | None = None,
        rate_limit: float | None = None,
        queue_size: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check("capacity", capacity, integer=True)
        _check("rate_limit", rate_limit, integer=False)
        if queue_size is not None and (
            isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 0
        ):
            raise ValueError(f"queue_size must be an int >= 0 or None, not {queue_size!r}.")
        self.capacity = capacity
        self.rate_limit = rate_limit
        self.queue_size = queue_size if queue_size is not None else capacity
        self._clock = clock
        self._tokens = float(rate_limit) if rate_limit is not None else 0.0
        self._refilled = clock()
        self._slots = asyncio.Semaphore(capacity) if capacity is not None else None
        self.generating = 0
        self.peak_generating = 0
        self.waiting = 0
        #: ``(time.monotonic(), status)`` per request: 200 admitted, 429 or 503 refused.
        self.events: list[tuple[float, int]] = []

    @property
    def enabled(self) -> bool:
        return self.capacity is not None or self.rate_limit is not None

    def counts(self) -> Counter[int]:
        """How many requests were admitted (200) and refused (429, 503)."""
        return Counter(status for _, status in self.events)

    def _take_token(self, now: float) -> bool:
        if self.rate_limit is None:
            return True
        self._tokens = min(self.rate_limit, self._tokens + (now - self._refilled) * self.rate_limit)
        self._refilled = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    async def admit(self, body: bytes, token_delay: float) -> tuple[int, dict[str, str]] | None:
        """``None`` once the request may be answered (after its generation time), else
        the refusal's status and OCI body."""
        now = self._clock()
        if not self._take_token(now):
            self.events.append((now, 429))
            return 429, oci_error_body(429, "TooManyRequests", RATE_LIMIT_MESSAGE)
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or payload.get("stream") is True or self._slots is None:
            self.events.append((now, 200))
            return None
        if self._slots.locked() and self.queue_size is not None and self.waiting >= self.queue_size:
            self.events.append((now, 503))
            return 503, oci_error_body(503, "ServiceUnavailable", QUEUE_FULL_MESSAGE)
        self.events.append((now, 200))
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.generating += 1
        self.peak_generating = max(self.peak_generating, self.generating)
        try:
            if token_delay > 0:
                await asyncio.sleep(token_delay * _completion_tokens(payload))
        finally:
            self.generating -= 1
            self._slots.release()
        return None
