"""The event loop's own lag: how late this process runs what is ready.

A batch's latencies are measured in the client: from the send to the moment the task
that awaited the answer runs again. When this process is short of CPU (other processes
on the cores, a heavy callback, a busy loop) every answer waits in the loop's ready
queue before it is read, so the measured latency rises although the server is as fast
as before. Cutting concurrency then only lowers throughput. :func:`watch_loop_lag`
measures that wait (how late a short sleep wakes up: the time a ready callback waits
for the loop) and :class:`LagMeter` keeps the worst of it over the last moment, which
the controller charges to the client, not the server.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from .. import _constants as C

__all__ = ["LagMeter", "watch_loop_lag"]


class LagMeter:
    """The largest loop lag seen in the last ``BATCH_LAG_WINDOW`` seconds (0 with no
    sample): an answer measured now waited through that window, and the lag it met
    comes in bursts, so the worst of it, not the mean, is what it may have paid."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._samples: deque[tuple[float, float]] = deque()

    def add(self, lag: float) -> None:
        """Record one probe's lateness in seconds (negative values count as 0)."""
        self._samples.append((self._clock(), max(0.0, lag)))
        self._trim()

    def _trim(self) -> None:
        start = self._clock() - C.BATCH_LAG_WINDOW
        while self._samples and self._samples[0][0] < start:
            self._samples.popleft()

    @property
    def value(self) -> float:
        """The recent loop lag in seconds."""
        self._trim()
        return max((lag for _, lag in self._samples), default=0.0)


async def watch_loop_lag(report: Callable[[float], None]) -> None:
    """Until cancelled: sleep ``BATCH_LAG_INTERVAL``, report how much later than asked
    the loop woke this task up."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time() + C.BATCH_LAG_INTERVAL
        await asyncio.sleep(C.BATCH_LAG_INTERVAL)
        report(loop.time() - asked)
