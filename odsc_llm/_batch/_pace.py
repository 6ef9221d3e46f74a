"""The pace of a batch's sends: :class:`Pacer` spaces them ``1 / rate`` seconds apart."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Pacer"]


class Pacer:
    """Spaces sends ``1 / rate`` seconds apart (a token bucket: one token, or ``catchup``).

    Reservations (GCRA) counted in send slots, not seconds: each caller takes the next
    free slot and waits until the slot clock (which runs at ``rate`` slots a second)
    reaches it. Waiting callers are served in order, and a change of rate re-times the
    slots already taken: after a storm of 429s at 1 request/s, callers queued 1 s apart
    go out as soon as the pace grows, not at the old spacing.

    ``catchup`` (seconds): slots the callers were too late for (a busy event loop wakes
    them late) stay takeable for that long, so a late loop sends what was due instead of
    losing it (a bucket ``rate x catchup`` deep). 0: one slot, nothing caught up.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, catchup: float = 0.0) -> None:
        self._clock = clock
        self._catchup = catchup
        self._rate = 0.0
        self._anchor_time = clock()
        self._anchor_slot = 0.0
        self._next_slot = 0.0

    def _slot_now(self, now: float) -> float:
        return self._anchor_slot + (now - self._anchor_time) * self._rate

    def set_rate(self, rate: float) -> None:
        """Run the slot clock at ``rate`` requests/s from now on."""
        if rate != self._rate:
            now = self._clock()
            self._anchor_slot = self._slot_now(now)
            self._anchor_time = now
            self._rate = rate

    def take(self) -> float:
        """The next free send slot (call :meth:`set_rate` first)."""
        due = self._slot_now(self._clock()) - self._rate * self._catchup
        slot = max(self._next_slot, due)
        self._next_slot = slot + 1.0
        return slot

    def wait_for(self, slot: float) -> float:
        """Seconds until ``slot`` may send, at the current rate."""
        return max(0.0, (slot - self._slot_now(self._clock())) / self._rate)

    def reserve(self, rate: float) -> float:
        """Seconds the caller must wait before sending at ``rate`` requests/s."""
        self.set_rate(rate)
        return self.wait_for(self.take())
