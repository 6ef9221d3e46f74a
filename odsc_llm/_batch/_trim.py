"""While a batch holds, keep no more in flight than the server needs.

The controller holds (neither grows nor cuts) while throughput is flat and the client
waits on its own event loop: the answers are late because this process is short of
CPU, not because the server queues. But what is held can be far more than the server
needs: in a loaded benchmark run a batch held 120-140 requests in flight at 150
answers/s, median latency 0.7 s against the server's 0.21 s. The surplus only waits in
this process (and costs it CPU per connection). Little's law says ``answers/s x
latency`` are in flight; :class:`Trim` brings the limit down toward
``BATCH_HOLD_HEADROOM`` times that at the best latency seen, a step of
``BATCH_LATENCY_BACKOFF`` at most once per ``BATCH_CUT_INTERVAL``, never below the
initial limit. If the answers then come ``BATCH_TRIM_LOSS`` slower than when the hold
began, the latency was not the client's own queue: the limit goes back to where the
hold found it and this batch trims no more.
"""

from __future__ import annotations

import math

from .. import _constants as C

__all__ = ["Trim"]


class Trim:
    """The state of the trims of one batch's holds (see the module docstring)."""

    def __init__(self) -> None:
        #: The limit and the answers/s when the current hold began (``None``: no hold).
        self._from: float | None = None
        self._rate = 0.0
        self._last = -math.inf
        #: A trim cost answers once: the latency is not ours to shed.
        self.given_up = False

    def end(self) -> None:
        """The hold ended (or a cut moved the limit): the next hold starts afresh."""
        self._from = None

    def step(self, limit: float, now: float, rate: float, best_latency: float) -> float:
        """The limit after one check of a hold at ``rate`` answers/s."""
        if self.given_up:
            return limit
        if self._from is None:
            self._from, self._rate = limit, rate
        elif rate < self._rate * (1.0 - C.BATCH_TRIM_LOSS) and limit < self._from:
            # Fewer in flight answered fewer: give back what the trims took.
            self.given_up = True
            restored, self._from = self._from, None
            return restored
        # The rate when the hold began, not the current one: a need that fell with the
        # answers would trim on after every dip.
        need = C.BATCH_HOLD_HEADROOM * self._rate * best_latency
        need = max(float(C.BATCH_INITIAL_CONCURRENCY), need)
        if limit <= need or now - self._last < C.BATCH_CUT_INTERVAL:
            return limit
        self._last = now
        return max(need, limit * C.BATCH_LATENCY_BACKOFF)
