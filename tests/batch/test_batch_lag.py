"""The controller tells the client's own slowness (event-loop lag) from the server's.

Decisions are driven by synthetic sequences on a fake clock (no sleeps): answers at a
given throughput, each with a latency, and loop-lag probes every ``BATCH_LAG_INTERVAL``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from odsc_llm import _constants as C
from odsc_llm._batch import Controller, run_batch, run_batch_sync
from odsc_llm._batch._lag import LagMeter, watch_loop_lag
from tests.support.batch import FakeClock, Status


def drive(
    control: Controller,
    clock: FakeClock,
    seconds: float,
    throughput: Callable[[float], float],
    latency: Callable[[float], float],
    lag: Callable[[float], float] = lambda t: 0.0,
) -> None:
    """``seconds`` of answers: at time ``t`` (from the start of this call) they come at
    ``throughput(t)``/s after ``latency(t)`` s, with the limit in use; the loop-lag probe
    reports ``lag(t)`` every ``BATCH_LAG_INTERVAL``."""
    start = clock.now
    next_probe = start
    next_answer = start
    while clock.now - start < seconds:
        clock.now = min(next_probe, next_answer)
        t = clock.now - start
        if clock.now == next_probe:
            control.loop_lag(lag(t))
            next_probe += C.BATCH_LAG_INTERVAL
        if clock.now == next_answer:
            control.in_flight = control.slots  # the limit is in use (no acquire here)
            control.succeeded(latency(t))
            next_answer += 1.0 / throughput(t)


def warmed_up(clock: FakeClock) -> Controller:
    """A controller past slow start at 64 in flight, 100 answers/s of 0.1 s each."""
    control = Controller(fixed=None, max_concurrency=256, rate_limit=None, clock=clock)
    control.limit = 64.0
    control._slow_start = False
    drive(control, clock, 3.0, lambda t: 100.0, lambda t: 0.1)
    assert control.cuts == 0
    return control


def test_loop_lag_rising_while_server_latency_is_flat_does_not_cut() -> None:
    clock = FakeClock()
    control = warmed_up(clock)
    before = control.limit

    def lag(t: float) -> float:  # the process gets busy: 0 to 0.6 s of lag in 2 s
        return min(0.6, 0.3 * t)

    # The server still answers in 0.1 s; each answer waits for the loop 2.5 times.
    drive(control, clock, 10.0, lambda t: 100.0, lambda t: 0.1 + 2.5 * lag(t), lag)
    assert control.cuts == 0
    # Held, and trimmed toward what the server needs (100/s x 0.1 s, twice), no lower.
    assert C.BATCH_HOLD_HEADROOM * 100.0 * 0.1 <= control.limit <= before


def test_a_client_waiting_on_itself_holds_then_trims_to_what_the_server_needs() -> None:
    clock = FakeClock()
    control = warmed_up(clock)
    # 0.3 s of loop lag from now on (three times the server's 0.1 s), answers no faster:
    # no cut (the server is fine), no growth (more in flight only costs CPU), and the
    # limit comes down toward Little's law's need: 2 x 100/s x the best latency (0.1 s,
    # forgetting 4 %/s), not the 64 held, which only queue in the client.
    drive(control, clock, 5.0, lambda t: 100.0, lambda t: 0.85, lambda t: 0.3)
    assert control.cuts == 0
    need = C.BATCH_HOLD_HEADROOM * 100.0 * control._best_median
    assert control.limit < 64 * C.BATCH_LATENCY_BACKOFF**6
    assert control.limit >= need - 1
    drive(control, clock, 5.0, lambda t: 100.0, lambda t: 0.85, lambda t: 0.3)
    assert control.limit == pytest.approx(C.BATCH_HOLD_HEADROOM * 100.0 * 0.1, rel=0.5)


def test_a_trim_that_costs_answers_is_undone_and_not_tried_again() -> None:
    clock = FakeClock()
    control = warmed_up(clock)
    before = control.limit
    # The answers really take 0.6 s (not the client's own queue): fewer in flight
    # answer fewer, ``limit / 0.6`` a second.
    drive(control, clock, 10.0, lambda t: min(100.0, control.limit / 0.6), lambda t: 0.6,
          lambda t: 0.3)  # fmt: skip
    assert control.cuts == 0
    assert control.limit >= before - 1  # given back, and held there
    assert control._trim.given_up


def test_the_floor_bounds_a_trim() -> None:
    clock = FakeClock()
    control = warmed_up(clock)
    # 10 answers/s x 0.1 s needs 1 in flight: the limit stops at the initial limit
    # (a check every 1.6 s at 10/s, one trim of 10 % each).
    drive(control, clock, 2.0, lambda t: 10.0, lambda t: 0.1)
    drive(control, clock, 60.0, lambda t: 10.0, lambda t: 0.85, lambda t: 0.3)
    assert control.limit == C.BATCH_INITIAL_CONCURRENCY


def test_server_latency_rising_while_throughput_stalls_cuts() -> None:
    clock = FakeClock()
    control = warmed_up(clock)
    before = control.limit
    # No loop lag; the server queues: ten times slower in 2 s, answers no faster.
    drive(control, clock, 6.0, lambda t: 100.0, lambda t: 0.1 + 0.45 * min(t, 2.0))
    assert control.cuts >= 2
    assert control.limit < before


def test_lagging_server_latency_is_still_congestion_beyond_what_the_lag_explains() -> None:
    clock = FakeClock()
    control = warmed_up(clock)
    before = control.limit
    # 50 ms of loop lag explains 0.15 s; the answers are 2 s slower than that.
    drive(control, clock, 6.0, lambda t: 100.0, lambda t: 0.1 + min(t, 2.0), lambda t: 0.05)
    assert control.cuts >= 2 and control.limit < before


def test_slower_answers_while_throughput_still_grows_are_not_congestion() -> None:
    clock = FakeClock()
    control = warmed_up(clock)
    before = control.limit
    # A fuller pipe: latency up four times, but 25 % more answers every second.
    drive(control, clock, 6.0, lambda t: 100.0 * 1.25**t, lambda t: 0.1 + 0.3 * min(t, 1.0))
    assert control.cuts == 0
    assert control.limit > before  # and it keeps growing meanwhile


def test_a_429_caps_the_limit_by_the_latency_measured_now() -> None:
    clock = FakeClock()
    control = warmed_up(clock)
    control.limit = 160.0  # room for what follows: 100 answers/s of 1 s each

    def lag(t: float) -> float:
        return 0.3

    # A busy client: every answer takes 1 s as measured here (the server's 0.1 s + lag),
    # however few are in flight (so a trim toward 0.1 s answers costs answers, and is
    # given back).
    drive(control, clock, 5.0, lambda t: min(100.0, control.limit / 1.0), lambda t: 1.0, lag)
    control.failed(Status(429))
    assert control.rate is not None
    # 100 answers/s of 1 s each hold 100 requests in flight (Little's law): the cap
    # leaves room for them, not for the 0.1 s answers of the quiet start.
    assert control.limit >= control.rate * 1.0


def test_lag_meter_keeps_the_worst_recent_lag() -> None:
    clock = FakeClock()
    meter = LagMeter(clock)
    assert meter.value == 0.0
    meter.add(-0.01)  # a timer that fired early counts as no lag
    assert meter.value == 0.0
    meter.add(0.2)
    clock.now += C.BATCH_LAG_WINDOW / 2
    meter.add(0.1)
    assert meter.value == pytest.approx(0.2)
    clock.now += C.BATCH_LAG_WINDOW * 0.75  # the 0.2 s lag is out of the window
    assert meter.value == pytest.approx(0.1)
    clock.now += C.BATCH_LAG_WINDOW
    assert meter.value == 0.0


async def test_watch_loop_lag_measures_a_blocked_loop() -> None:
    seen: list[float] = []
    probe = asyncio.ensure_future(watch_loop_lag(seen.append))
    try:
        await asyncio.sleep(0)  # the probe is now asleep
        time.sleep(0.3)  # block the loop, as a CPU-starved process does
        while not seen:
            await asyncio.sleep(0.01)
    finally:
        probe.cancel()
    assert seen[0] >= 0.3 - C.BATCH_LAG_INTERVAL - 0.01


class Recording(Controller):
    def __init__(self, fixed: int | None) -> None:
        super().__init__(fixed=fixed, max_concurrency=256, rate_limit=None)
        self.lags: list[float] = []

    def loop_lag(self, lag: float) -> None:
        self.lags.append(lag)
        super().loop_lag(lag)


@pytest.mark.parametrize("fixed", [None, 4])
async def test_run_batch_probes_the_loop_lag_for_an_adaptive_limit(fixed: int | None) -> None:
    control = Recording(fixed=fixed)

    async def call(item: int) -> int:
        time.sleep(0.02)  # blocks the loop: the lag the probe sees
        await asyncio.sleep(0.01)
        return item

    result = await run_batch(call, range(30), controller=control)
    assert result.ok
    if fixed is None:
        assert control.lags and max(control.lags) > 0.01
    else:
        assert control.lags == []  # a fixed limit has nothing to adapt: no probe
    await asyncio.sleep(2 * C.BATCH_LAG_INTERVAL)
    count = len(control.lags)
    await asyncio.sleep(2 * C.BATCH_LAG_INTERVAL)
    assert len(control.lags) == count  # the probe stopped with the batch


def test_run_batch_sync_probes_the_loop_lag_too() -> None:
    control = Recording(fixed=None)

    async def call(item: int) -> int:
        time.sleep(0.02)  # blocks the loop the sync runner drives
        await asyncio.sleep(0.01)
        return item

    result = run_batch_sync(call, range(30), controller=control)
    assert result.ok
    assert control.lags and max(control.lags) > 0.01


def test_slow_start_ends_when_the_client_waits_on_itself() -> None:
    # The red flag of issue 27 (0.36x the limit): a CPU-starved client in slow start
    # doubled on to 256 in flight while answers came no faster, its latency all loop
    # lag, and then held them. With the loop lag above the server's latency, slow start
    # ends at the first check and the limit grows by about one per round trip.
    clock = FakeClock()
    control = Controller(fixed=None, max_concurrency=256, rate_limit=None, clock=clock)
    drive(control, clock, 3.0, lambda t: 100.0, lambda t: 0.1 + 2.5 * 0.2, lambda t: 0.2)
    assert not control._slow_start
    assert control.cuts == 0  # leaving slow start is not a cut
    assert control.slots < 4 * C.BATCH_INITIAL_CONCURRENCY


def test_slow_start_ends_when_answers_slow_down_and_come_no_faster() -> None:
    # Answers 2.5 times as slow from 2 s on (within the 3x tolerance, so no cut) at a
    # flat 20/s: a queue is forming. The old controller doubled on regardless (+1 an
    # answer: 108 after 5 s); now slow start ends at the first check that sees it (4 s).
    clock = FakeClock()
    control = Controller(fixed=None, max_concurrency=256, rate_limit=None, clock=clock)
    drive(control, clock, 5.0, lambda t: 20.0, lambda t: 0.1 if t < 2.0 else 0.25)
    assert not control._slow_start
    assert control.cuts == 0
    assert control.slots < 100


def test_slow_start_goes_on_while_slower_answers_come_faster() -> None:
    # A fuller pipe (an LLM server batching more at once): latency up 1.7x, but 25 % more
    # answers every second. Not a queue: slow start goes on.
    clock = FakeClock()
    control = Controller(fixed=None, max_concurrency=256, rate_limit=None, clock=clock)

    def latency(t: float) -> float:
        return 0.1 + 0.07 * min(t, 1.0)

    drive(control, clock, 3.0, lambda t: 50.0 * 1.25**t, latency)
    assert control._slow_start
    assert control.cuts == 0


def test_slow_start_goes_on_while_latency_holds() -> None:
    clock = FakeClock()
    control = Controller(fixed=None, max_concurrency=256, rate_limit=None, clock=clock)
    drive(control, clock, 3.0, lambda t: 100.0, lambda t: 0.1)
    assert control._slow_start
    assert control.slots == 256  # flat latency, no lag: +1 per answer up to the ceiling
