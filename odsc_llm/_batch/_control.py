"""How many requests a batch keeps in flight, and how fast it sends them.

:class:`Controller` is the batch's admission gate. Every attempt (first tries and
retries alike) takes a slot from it before it is sent and gives it back after, and
reports how it went:

* **Concurrency (AIMD).** With ``concurrency="auto"`` the limit starts at
  ``BATCH_INITIAL_CONCURRENCY`` and doubles every round trip (slow start) until the
  first sign of congestion, then grows by about one per round trip while answers come
  back fine and latency holds: the median of the last ``BATCH_LATENCY_SAMPLES``
  latencies stays within ``BATCH_LATENCY_TOLERANCE`` x the best such median seen (a
  median, so a mix of short and long answers is not mistaken for congestion; the best
  forgets by ``BATCH_LATENCY_FORGET`` a second). When it
  does not hold, the limit is cut by ``BATCH_LATENCY_BACKOFF``. A 503, a 504 or a
  timeout/connection error cuts it by ``BATCH_BACKOFF`` (at most once per
  ``BATCH_CUT_INTERVAL``: a burst of failures is one signal).
* **Slow start ends early on delay.** At the first check whose loop-lag allowance
  (below) exceeds the best median, or whose median latency is
  ``BATCH_SLOW_START_EXIT`` x the best median while throughput has stopped growing,
  growth turns additive: a queue is forming (in a client short of CPU, or on the
  server), and doubling into it only piles up connections.
* **The client's own slowness is not congestion.** Latency is measured here, so a
  process short of CPU sees every answer late. Two things keep that from cutting the
  limit (which would only lower throughput): the event loop's lag (``loop_lag``, fed by
  :func:`~._lag.watch_loop_lag`) is charged to the client: ``BATCH_LAG_WEIGHT`` x its
  worst in the last ``BATCH_LAG_WINDOW`` is added to what "latency holds" allows before
  a cut; and latency cuts (and the stop of growth) apply only while throughput has
  stopped growing (``BATCH_GROWTH_WINDOW``): slower answers that come with more answers
  per second are a fuller pipe. While throughput is flat and that lag allowance exceeds
  the best median latency (the client waits on itself longer than on the server), the
  limit holds instead of growing: more in flight would only cost a busy client CPU;
  and it comes down toward what Little's law says the server needs (:mod:`._trim`).
* **Pacing.** A 429 means "too many requests per second", which fewer requests in
  flight only fixes by accident. So a 429 starts (or tightens) a pace: the rate that was
  being answered in the last ``BATCH_RATE_WINDOW`` seconds, times ``BATCH_RATE_BACKOFF``.
  Each second without a 429 the pace grows by the fraction ``BATCH_RATE_PROBE`` of
  itself while it binds (``BATCH_RATE_BINDING`` of it answered), so it settles just
  under what the tenancy allows with few 429s. Below the rate
  that was answered when the 429s began, it instead doubles every
  ``BATCH_RATE_DOUBLING`` seconds once ``BATCH_RATE_QUIET`` seconds have passed without
  a 429 (without bound if nothing was answered then): a storm of 429s answers nothing,
  so it drops the pace to ``BATCH_MIN_RATE``, and the batch must come back as fast as
  the service does, not at 2 % a second. A learned pace catches up on the send slots a
  late event loop missed (up to ``BATCH_PACE_CATCHUP`` seconds' worth): on a busy
  machine the loop wakes a waiting sender tens of ms late, and a pace that lost those
  slots sent a fraction of its rate. ``rate_limit=`` is a hard ceiling on the pace
  (and the pace from the start), and never catches up. A 429 also caps the
  concurrency limit at twice what that pace needs (``rate x latency``, the recent
  median latency as measured: what is in flight includes the client's own time,
  Little's law).

With a fixed ``concurrency`` the limit never moves and only ``rate_limit`` paces.
Nothing here does I/O; the clock is injectable for tests.
"""

from __future__ import annotations

import asyncio
import math
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from .. import _constants as C
from .._errors import APIConnectionError, APITimeoutError, InvalidRequestError
from ._lag import LagMeter
from ._pace import Pacer
from ._trace import Trace
from ._trim import Trim

__all__ = ["Concurrency", "Controller", "Pacer", "validate_options"]

Concurrency = int | Literal["auto"]


def validate_options(
    concurrency: object, max_concurrency: object, rate_limit: object
) -> tuple[int | None, int, float | None]:
    """Check the three knobs; return (fixed concurrency or None, ceiling, rate)."""
    if concurrency == "auto" and isinstance(concurrency, str):
        fixed = None
    elif isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidRequestError(
            f'concurrency must be "auto" (adaptive, the default) or a positive int, not '
            f"{concurrency!r}."
        )
    else:
        fixed = concurrency
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
        raise InvalidRequestError(
            f"max_concurrency must be a positive int (the ceiling of concurrency='auto'; "
            f"default {C.BATCH_MAX_CONCURRENCY}), not {max_concurrency!r}."
        )
    if max_concurrency < 1:
        raise InvalidRequestError(f"max_concurrency must be >= 1, not {max_concurrency}.")
    rate: float | None = None
    if rate_limit is not None:
        if isinstance(rate_limit, bool) or not isinstance(rate_limit, (int, float)):
            raise InvalidRequestError(
                f"rate_limit must be a number of requests per second (e.g. "
                f"{C.TENANCY_RATE_LIMIT:g}, the tenancy default) or None, not {rate_limit!r}."
            )
        if not math.isfinite(rate_limit) or rate_limit <= 0:
            raise InvalidRequestError(
                f"rate_limit must be a finite number of requests per second > 0 (or None "
                f"for no pacing), not {rate_limit!r}."
            )
        rate = float(rate_limit)
    return fixed, max_concurrency, rate


class Controller:
    """The gate every attempt goes through; see the module docstring."""

    def __init__(
        self,
        *,
        fixed: int | None,
        max_concurrency: int,
        rate_limit: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.adaptive = fixed is None
        self.ceiling = max_concurrency if fixed is None else fixed
        self.limit = float(
            fixed if fixed is not None else min(C.BATCH_INITIAL_CONCURRENCY, max_concurrency)
        )
        self.rate_ceiling = rate_limit
        #: The current pace in requests/s (``None``: unpaced).
        self.rate = rate_limit
        self.in_flight = 0
        self.peak_in_flight = 0
        self.retries = 0
        self.throttled_429 = 0
        self.throttled_503 = 0
        self.cuts = 0
        self._clock = clock
        # A learned pace catches up on slots a late loop missed; the caller's own
        # rate_limit is a promise about every moment, and does not.
        self._pacer = Pacer(clock, catchup=C.BATCH_PACE_CATCHUP if rate_limit is None else 0.0)
        self._slow_start = self.adaptive
        self._started = clock()
        self._last_cut = -math.inf
        self._last_rate_cut = -math.inf
        self._last_429 = -math.inf
        #: The rate answered when the current run of 429s began: the pace regrows fast up
        #: to it. ``None``: nothing was answered then, no bound (see ``_grow_rate``).
        self._recover_to: float | None = None
        self._answered_since_429 = 0
        self._last_probe = self._started
        #: Recent latencies; "latency holds" compares their median with the best median
        #: seen, so prompts of mixed lengths do not look like congestion.
        self._latencies: deque[float] = deque(maxlen=C.BATCH_LATENCY_SAMPLES)
        self._since_median = 0
        self._best_median = math.inf
        self._last_check = self._started
        #: Growth stopped: answers slowed down and come no faster.
        self._holding = False
        self._trim = Trim()
        self._lag = LagMeter(clock)
        #: When recent answers came back (the rate a 429 paces at, throughput growth).
        self._answered: deque[float] = deque()
        self._growth_window = C.BATCH_GROWTH_WINDOW
        self._history = max(C.BATCH_RATE_WINDOW, 2 * C.BATCH_GROWTH_WINDOW)
        self._waiters: deque[asyncio.Future[None]] = deque()
        #: Debug: called with each decision and the state after it (see :mod:`._trace`).
        self.trace: Trace | None = None

    def _record(self, event: str, **extra: Any) -> None:
        if self.trace is not None:
            self.trace(event, {
                "limit": round(self.limit, 2), "in_flight": self.in_flight,
                "rate": None if self.rate is None else round(self.rate, 2),
                "slow_start": self._slow_start, "holding": self._holding,
                "lag": round(self._lag.value, 4), **extra,
            })  # fmt: skip

    # -- the gate --------------------------------------------------------------------

    @property
    def slots(self) -> int:
        return max(1, int(self.limit))

    async def acquire(self) -> None:
        """Wait for a slot under the limit, then for the pace; the caller sends next."""
        if self.in_flight >= self.slots or self._waiters:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(future)
            try:
                await future
            except BaseException:
                if future.done() and not future.cancelled():
                    self._release_slot()  # handed a slot just as we were cancelled
                elif future in self._waiters:
                    # Not there if a release ran between the cancel and this task's
                    # wake-up: ``_wake`` then popped (and skipped) the cancelled future.
                    # Python 3.10's asyncio.run does that on Ctrl-C: it cancels every
                    # task at once, and those in flight release their slots first.
                    self._waiters.remove(future)
                raise
        else:
            self._take_slot()
        if self.rate is not None:
            pacer = self._pacer
            pacer.set_rate(self.rate)
            slot = pacer.take()
            try:
                while (wait := pacer.wait_for(slot)) > 0:
                    # Short naps: the pace may change meanwhile (a 429, or regrowth).
                    await asyncio.sleep(min(wait, C.BATCH_PACE_RECHECK))
                    if self.rate is not None:
                        pacer.set_rate(self.rate)
            except BaseException:
                self._release_slot()
                raise

    def release(self) -> None:
        """Give the slot back (after the attempt's answer or failure)."""
        self._release_slot()

    def _take_slot(self) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _release_slot(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.slots:
            future = self._waiters.popleft()
            if not future.done():
                self._take_slot()
                future.set_result(None)

    # -- what happened ---------------------------------------------------------------

    def loop_lag(self, lag: float) -> None:
        """The event loop woke a probe ``lag`` seconds late (see :mod:`._lag`)."""
        self._lag.add(lag)

    def _answers_since(self, start: float) -> int:
        return len(self._answered) - bisect_right(self._answered, start)

    def _throughput_grows(self, now: float) -> bool:
        """More answers in the last window than in the one before (by
        ``BATCH_GROWTH_MIN``); too early to tell counts as growing (slow start). A window
        is ``BATCH_GROWTH_WINDOW`` or the median latency if longer: more in flight shows
        in the answers a round trip later, and a lagging loop delivers them in bursts."""
        window = self._growth_window
        if now - self._started < 2 * window:
            return True
        recent = self._answers_since(now - window)
        before = self._answers_since(now - 2 * window) - recent
        # One answer more is the windows' edges, not growth (it matters at a few/s).
        return recent > before * (1.0 + C.BATCH_GROWTH_MIN) + 1

    def succeeded(self, latency: float) -> None:
        """An attempt came back with an answer after ``latency`` seconds."""
        now = self._clock()
        self._answered.append(now)
        while self._answered[0] < now - self._history:
            self._answered.popleft()
        self._answered_since_429 += 1
        self._latencies.append(latency)
        if self.rate is not None and self.adaptive:
            self._grow_rate(self.rate, now)
        self._last_probe = now
        if not self.adaptive:
            return
        self._since_median += 1
        if self._since_median >= C.BATCH_LATENCY_EVERY:
            self._since_median = 0
            ordered = sorted(self._latencies)
            median = ordered[len(ordered) // 2]
            # The baseline forgets slowly, so one lucky quiet moment does not make every
            # later, normal latency look like congestion; per second, not per check, so a
            # busy batch (more checks) does not forget faster.
            elapsed = min(now - self._last_check, C.BATCH_LATENCY_FORGET_SPAN)
            self._last_check = now
            forget = C.BATCH_LATENCY_FORGET ** max(0.0, elapsed)
            self._best_median = min(self._best_median * forget, median)
            self._growth_window = max(C.BATCH_GROWTH_WINDOW, median)
            self._history = max(C.BATCH_RATE_WINDOW, 2 * self._growth_window)
            stalled = not self._throughput_grows(now)
            allowed = self._best_median * C.BATCH_LATENCY_TOLERANCE
            lag = C.BATCH_LAG_WEIGHT * self._lag.value
            slower = median > C.BATCH_SLOW_START_EXIT * self._best_median
            if self._slow_start and (lag > self._best_median or (slower and stalled)):
                # The client waits on itself longer than on the server, or answers slow
                # down and come no faster (a queue forms): doubling on would hold far
                # more than either can serve. Grow additively from here (HyStart++, RFC
                # 9406, leaves slow start on rising delay). Slower answers that come
                # with more answers per second are a fuller pipe (an LLM server batching
                # more requests at once): slow start goes on.
                self._slow_start = False
                self._record("slow_start_end", median=round(median, 4))
            # Slower answers, or a client that waits on its own loop longer than on the
            # server, and no more answers for it: more in flight buys nothing (a busy
            # client only spends more CPU on more connections), hold.
            self._holding = stalled and (median > allowed or lag > self._best_median)
            if self._holding:
                rate = self._answers_since(now - self._growth_window) / self._growth_window
                trimmed = self._trim.step(self.limit, now, rate, self._best_median)
                if trimmed != self.limit:
                    self.limit = trimmed
                    self._record("trim", answered_per_s=round(rate, 1))
            else:
                self._trim.end()
            # Cut only for what the loop's lag does not explain: that part is this
            # process's own slowness, and fewer in flight would only answer fewer.
            congested = median > allowed + lag
            used = self.in_flight >= 0.8 * self.slots
            if stalled and congested and used and self.limit > C.BATCH_INITIAL_CONCURRENCY:
                # Answers slow down as a whole and no faster: the server is queueing.
                self._cut_concurrency(C.BATCH_LATENCY_BACKOFF)
            self._record("check", median=round(median, 4), best=round(self._best_median, 4),
                         stalled=stalled, answered_1s=self._answers_since(now - 1.0))  # fmt: skip
        if self._holding:
            return
        step = 1.0 if self._slow_start else C.BATCH_INCREASE / self.limit
        self.limit = min(float(self.ceiling), self.limit + step)
        self._wake()

    def _grow_rate(self, rate: float, now: float) -> None:
        """Probe the pace upward while nothing says it is too high."""
        elapsed = now - self._last_probe
        # Seconds of this interval spent past the quiet interval after the last 429.
        fast = max(0.0, min(elapsed, now - self._last_429 - C.BATCH_RATE_QUIET))
        target = math.inf if self._recover_to is None else self._recover_to * C.BATCH_RATE_BACKOFF
        if fast > 0 and rate < target:
            # Recovering from a run of 429s: double up to the rate answered before it
            # (a capped exponent: a long idle gap must not overflow).
            rate = min(target, rate * 2.0 ** min(fast / C.BATCH_RATE_DOUBLING, 32.0))
            elapsed -= fast
        span = min(C.BATCH_RATE_WINDOW, max(now - self._started, 1e-3))
        if self._answers_since(now - C.BATCH_RATE_WINDOW) >= C.BATCH_RATE_BINDING * rate * span:
            # Only a pace that holds sends back learns anything by going up: a client too
            # busy to send at it would raise it unchecked, then burst past the limit.
            rate += C.BATCH_RATE_PROBE * rate * elapsed
        ceiling = self.rate_ceiling if self.rate_ceiling is not None else math.inf
        self.rate = min(ceiling, rate)

    def failed(self, error: BaseException) -> None:
        """An attempt failed; 429, 503/504 and timeouts are congestion signals."""
        status = getattr(error, "status_code", None)
        if status == 429:
            self.throttled_429 += 1
            if self.adaptive:
                self._cut_rate()
        elif status == 503:
            self.throttled_503 += 1
            self._cut_concurrency()
        elif status == 504 or (
            isinstance(error, (APITimeoutError, APIConnectionError)) and status is None
        ):
            self._cut_concurrency()

    def _cut_concurrency(self, factor: float = C.BATCH_BACKOFF) -> None:
        if not self.adaptive:
            return
        now = self._clock()
        self._slow_start = False
        if now - self._last_cut < C.BATCH_CUT_INTERVAL:
            return
        self._last_cut = now
        self.cuts += 1
        self._trim.end()
        self.limit = max(1.0, self.limit * factor)
        self._record("cut", factor=factor)

    def _cut_rate(self) -> None:
        now = self._clock()
        self._slow_start = False
        # A new run of 429s: the first after a quiet interval in which answers came
        # back (429s a slow pace keeps 1 s apart in a storm are still the same run).
        new_run = now - self._last_429 >= C.BATCH_RATE_QUIET and self._answered_since_429 > 0
        self._last_429 = now
        self._answered_since_429 = 0
        if now - self._last_rate_cut < C.BATCH_CUT_INTERVAL:
            return
        self._last_rate_cut = now
        self.cuts += 1
        span = min(C.BATCH_RATE_WINDOW, max(now - self._started, 1e-3))
        measured = self._answers_since(now - C.BATCH_RATE_WINDOW) / span
        if new_run and measured >= C.BATCH_MIN_RATE:
            # What was answered as the run began: the pace regrows fast up to it. Nothing
            # answered yet (a storm from the start) bounds nothing.
            self._recover_to = measured
        current = self.rate if self.rate is not None else math.inf
        if self._recover_to is not None and measured >= C.BATCH_RATE_BINDING * current:
            # A pace that was kept (answered) and still drew a 429 is too fast: fast
            # regrowth stops below it. The rate answered as the 429s began can be a burst
            # above the limit (a service's bucket lets one through), and regrowing to it
            # drew a run of 429s each time the pace came back.
            self._recover_to = min(self._recover_to, current)
        self.rate = max(C.BATCH_MIN_RATE, min(current, max(measured, C.BATCH_MIN_RATE)))
        self.rate *= C.BATCH_RATE_BACKOFF
        self.rate = max(C.BATCH_MIN_RATE, self.rate)
        self._last_probe = now
        if self._latencies:
            # Twice what the pace needs in flight is plenty; more only waits on the pace.
            # Little's law with the latency as measured now (a busy client holds each
            # request longer), not the best one seen.
            ordered = sorted(self._latencies)
            needed = C.BATCH_HOLD_HEADROOM * self.rate * ordered[len(ordered) // 2]
            self.limit = max(1.0, min(self.limit, max(needed, float(C.BATCH_INITIAL_CONCURRENCY))))
        else:
            self.limit = max(1.0, self.limit * C.BATCH_BACKOFF)
        self._trim.end()
        self._record("rate_cut", measured=round(measured, 2), new_run=new_run)

    def snapshot(self) -> dict[str, Any]:
        """The numbers the progress bar and the summary show."""
        return {
            "in_flight": self.in_flight,
            "limit": self.slots,
            "rate": None if self.rate is None else round(self.rate, 1),
            "retries": self.retries,
            "429": self.throttled_429,
            "503": self.throttled_503,
        }
