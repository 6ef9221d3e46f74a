"""Adaptive concurrency, pacing, option checks, the pool bound and the throttling emulator."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import pytest

import odsc_llm
from odsc_llm import _constants as C
from odsc_llm._batch import Controller, run_batch
from odsc_llm._batch._control import Pacer
from odsc_llm._errors import APITimeoutError, InvalidRequestError
from tests.support.batch import FakeClock, Status

pytest.importorskip("uvicorn", reason="the emulator needs the testing extra")

from odsc_llm.testing import LocalDeployment


async def _noop(item: int) -> int:
    await asyncio.sleep(0)
    return item


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"concurrency": 0}, "concurrency must be"),
        ({"concurrency": True}, "concurrency must be"),
        ({"concurrency": "fast"}, '"auto"'),
        ({"concurrency": 2.5}, "positive int"),
        ({"max_concurrency": 0}, "max_concurrency must be >= 1"),
        ({"max_concurrency": "many"}, "max_concurrency must be a positive int"),
        ({"rate_limit": 0}, "rate_limit must be a finite number"),
        ({"rate_limit": -5}, "rate_limit must be a finite number"),
        ({"rate_limit": math.nan}, "rate_limit must be a finite number"),
        ({"rate_limit": math.inf}, "rate_limit must be a finite number"),
        ({"rate_limit": "150"}, "requests per second"),
        ({"rate_limit": True}, "requests per second"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
async def test_options_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        await run_batch(_noop, [1, 2], **kwargs)


@pytest.mark.parametrize("sync", [True, False])
async def test_client_batch_checks_options_before_sending(
    emulator: LocalDeployment, sync: bool
) -> None:
    kwargs: dict[str, Any] = {"concurrency": -3}
    with pytest.raises(InvalidRequestError, match="concurrency"):
        if sync:
            odsc_llm.Client(emulator.deployment, auth=emulator.auth).completions.batch(
                ["a"], **kwargs
            )
        else:
            async with odsc_llm.AsyncClient(emulator.deployment, auth=emulator.auth) as client:
                await client.chat.completions.batch([[{"role": "user", "content": "a"}]], **kwargs)
    assert emulator.requests == []


def test_slow_start_then_additive_increase_and_cuts() -> None:
    clock = FakeClock()
    control = Controller(fixed=None, max_concurrency=64, rate_limit=None, clock=clock)
    assert control.slots == C.BATCH_INITIAL_CONCURRENCY
    for _ in range(8):
        control.succeeded(0.1)
    assert control.slots == 16  # slow start: +1 per answer, doubling per round trip
    control.failed(Status(503))
    assert control.slots == int(16 * C.BATCH_BACKOFF) and control.cuts == 1
    control.failed(Status(503))  # the same burst: one signal, one cut
    assert control.cuts == 1 and control.throttled_503 == 2
    before = control.limit
    for _ in range(20):
        control.succeeded(0.1)
    assert before < control.limit < before + 2  # additive now: about +1 per `limit` answers
    clock.now += 1
    control.failed(APITimeoutError("slow"))
    assert control.cuts == 2
    for _ in range(10_000):
        control.succeeded(0.1)
    assert control.slots == 64  # never above the ceiling


def test_rising_latency_stops_growth_and_cuts() -> None:
    clock = FakeClock()
    control = Controller(fixed=None, max_concurrency=256, rate_limit=None, clock=clock)
    for _ in range(C.BATCH_LATENCY_SAMPLES):
        control.succeeded(0.1)
    grown = control.slots
    for _ in range(4 * C.BATCH_LATENCY_SAMPLES):
        clock.now += 0.1
        control.in_flight = control.slots  # the limit is in use (no acquire in this test)
        control.succeeded(1.0)  # ten times slower: the server queues
    assert control.slots < grown and control.cuts >= 2


def test_mixed_lengths_are_not_congestion() -> None:
    control = Controller(fixed=None, max_concurrency=256, rate_limit=None, clock=FakeClock())
    for i in range(400):
        control.succeeded(0.1 if i % 2 else 2.0)  # short and long answers, steady mix
    assert control.cuts == 0 and control.slots > 100


def _baseline_after_slow_answers(answers_per_s: float) -> float:
    """The best median after 2 s of 0.1 s answers, then 5 s of 1 s answers, all at
    ``answers_per_s`` (so a check every ``16 / answers_per_s`` seconds)."""
    clock = FakeClock()
    control = Controller(fixed=None, max_concurrency=256, rate_limit=None, clock=clock)
    for seconds, latency in ((2.0, 0.1), (5.0, 1.0)):
        for _ in range(int(seconds * answers_per_s)):
            clock.now += 1.0 / answers_per_s
            control.succeeded(latency)
    return control._best_median


def test_the_latency_baseline_forgets_per_second_not_per_check() -> None:
    # Five times the answers make five times the checks; the baseline must drift the
    # same (a per-check rate let a busy batch's baseline follow its own queue up).
    busy, calm = _baseline_after_slow_answers(150.0), _baseline_after_slow_answers(30.0)
    assert busy == pytest.approx(calm, rel=0.05)
    # About 5 s of forgetting from 0.1 s, not 0.1 x 1.02 ** 45 (0.24 s) as per check.
    assert 0.1 < busy < 0.1 * C.BATCH_LATENCY_FORGET**5.5


def test_a_long_gap_between_checks_forgets_without_overflow() -> None:
    clock = FakeClock()
    control = Controller(fixed=None, max_concurrency=256, rate_limit=None, clock=clock)
    for _ in range(C.BATCH_LATENCY_EVERY):
        control.succeeded(0.1)
    clock.now += 1e7  # a batch that waited days (a laptop asleep) on one answer
    for _ in range(C.BATCH_LATENCY_EVERY):
        control.succeeded(0.5)
    assert control._best_median == 0.5  # forgotten, and no OverflowError


def test_429_starts_a_pace_below_the_answered_rate_then_probes() -> None:
    clock = FakeClock()
    control = Controller(fixed=None, max_concurrency=256, rate_limit=None, clock=clock)
    for _ in range(100):  # 100 answers in the last second
        clock.now += 0.01
        control.succeeded(0.2)
    control.failed(Status(429))
    assert control.throttled_429 == 1 and control.rate is not None
    assert control.rate == pytest.approx(100 * C.BATCH_RATE_BACKOFF, rel=0.05)
    assert control.slots <= max(2 * control.rate * 0.2 + 1, C.BATCH_INITIAL_CONCURRENCY)
    paced = control.rate
    for _ in range(int(2 * paced)):  # 2 s of answers at the pace: it binds, so it probes
        clock.now += 1 / paced
        control.succeeded(0.2)
    # +2 % a second, compounded answer by answer.
    assert control.rate == pytest.approx(paced * math.exp(2 * C.BATCH_RATE_PROBE), rel=1e-3)


def test_a_pace_the_client_does_not_reach_does_not_grow() -> None:
    clock = FakeClock()
    control = Controller(fixed=None, max_concurrency=256, rate_limit=None, clock=clock)
    for _ in range(100):
        clock.now += 0.01
        control.succeeded(0.2)
    control.failed(Status(429))
    paced = control.rate
    assert paced is not None
    for _ in range(20):  # 4 s at a fifth of the pace: a client too busy to send at it
        clock.now += 5 / paced
        control.succeeded(0.2)
    # Not raised unchecked (4 s would be +8 %), to burst past the limit later: only the
    # first interval, while the answers before the 429 still fill the window, probes.
    assert control.rate is not None and paced <= control.rate < paced * (1 + C.BATCH_RATE_PROBE)


def test_fixed_concurrency_never_moves_and_rate_limit_is_a_ceiling() -> None:
    clock = FakeClock()
    control = Controller(fixed=5, max_concurrency=256, rate_limit=40.0, clock=clock)
    control.failed(Status(503))
    control.failed(Status(429))
    for _ in range(100):
        control.succeeded(0.1)
    assert (control.slots, control.rate, control.cuts) == (5, 40.0, 0)
    auto = Controller(fixed=None, max_concurrency=256, rate_limit=40.0, clock=clock)
    clock.now += 100
    auto.succeeded(0.1)
    assert auto.rate == 40.0  # probing never goes above the caller's rate_limit


def test_pacer_spaces_sends() -> None:
    clock = FakeClock()
    pacer = Pacer(clock)
    waits = [pacer.reserve(10.0) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    clock.now += 10
    assert pacer.reserve(10.0) == 0.0


def test_a_learned_pace_catches_up_on_slots_a_late_loop_missed() -> None:
    # On a busy machine the loop wakes a waiting sender tens of ms late. A one-slot pace
    # then sent one request per late wake-up and lost the rest: at 150/s a batch fell
    # to ~60/s with the loop 40 ms late (issue 27). The slots due meanwhile go out now.
    clock = FakeClock()
    pacer = Pacer(clock, catchup=0.1)
    pacer.set_rate(100.0)
    assert pacer.wait_for(pacer.take()) == 0.0
    assert pacer.wait_for(pacer.take()) == pytest.approx(0.01)
    clock.now += 0.06  # the sender of slot 1 wakes 50 ms late
    sent_now = 1  # slot 1 itself
    while pacer.wait_for(pacer.take()) == 0.0:
        sent_now += 1
    assert sent_now == 6  # slots 1-5 were due by now, and slot 6: not lost
    clock.now += 5.0  # a long stall catches up at most `catchup` seconds' worth
    sent_now = 0
    while pacer.wait_for(pacer.take()) == 0.0:
        sent_now += 1
    assert sent_now == 11


def test_a_callers_rate_limit_never_catches_up() -> None:
    clock = FakeClock()
    control = Controller(fixed=None, max_concurrency=64, rate_limit=100.0, clock=clock)
    assert control._pacer._catchup == 0.0
    learned = Controller(fixed=None, max_concurrency=64, rate_limit=None, clock=clock)
    assert learned._pacer._catchup == C.BATCH_PACE_CATCHUP
    pacer = Pacer(clock)
    pacer.set_rate(100.0)
    pacer.take()
    clock.now += 1.0
    assert pacer.wait_for(pacer.take()) == 0.0
    assert pacer.wait_for(pacer.take()) == pytest.approx(0.01)  # one slot, no burst


async def test_rate_limit_paces_the_starts() -> None:
    starts: list[float] = []

    async def call(item: int) -> int:
        starts.append(time.monotonic())
        return item

    result = await run_batch(call, range(11), rate_limit=50.0, concurrency=8)
    assert result.ok
    assert starts[-1] - starts[0] >= 10 / 50.0 * 0.9  # 11 starts need 10 intervals of 1/50 s


async def test_in_flight_never_exceeds_the_pool() -> None:
    in_flight = peak = 0

    async def call(item: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return item

    result = await run_batch(call, range(300), concurrency=5000, pool_size=40)
    assert result.ok and peak == 40 and result.summary.peak_in_flight == 40


async def test_batch_retries_are_seen_by_the_controller(emulator: LocalDeployment) -> None:
    emulator.faults.push(status=429, retry_after=0, count=3)
    async with odsc_llm.AsyncClient(emulator.deployment, auth=emulator.auth, max_retries=3) as c:
        result = await c.completions.batch(["a"], max_tokens=3)
    assert result.ok
    summary = result.summary
    assert (summary.retries, summary.throttled_429) == (3, 3)
    assert len(emulator.requests) == 4  # one retry loop (the batch's), not two nested
    assert "3 retries, 3 x 429" in str(summary)


def test_throttle_options_are_checked() -> None:
    with pytest.raises(ValueError, match="capacity"):
        LocalDeployment(capacity=0)
    with pytest.raises(ValueError, match="rate_limit"):
        LocalDeployment(rate_limit=-1)
    with pytest.raises(ValueError, match="queue_size"):
        LocalDeployment(capacity=2, queue_size=-1)


@pytest.mark.parametrize("sync", [True, False])
async def test_throttled_emulator_answers_429_and_503_like_the_service(sync: bool) -> None:
    with LocalDeployment(capacity=1, queue_size=1, rate_limit=1000, token_delay=0.2) as local:
        client = odsc_llm.AsyncClient(local.deployment, auth=local.auth, max_retries=0)
        async with client:
            answers = await asyncio.gather(
                *(client.completions.create(prompt=f"p{i}", max_tokens=2) for i in range(4)),
                return_exceptions=True,
            )
        statuses = sorted(getattr(a, "status_code", 200) for a in answers)
        assert statuses == [200, 200, 503, 503]  # one generating, one queued, two refused
    with LocalDeployment(rate_limit=2) as local:
        if sync:
            plain = odsc_llm.Client(local.deployment, auth=local.auth, max_retries=0)
            errors = []
            for i in range(5):
                try:
                    plain.completions.create(prompt=f"p{i}")
                except odsc_llm.RateLimitError as exc:
                    errors.append(exc)
        else:
            async with odsc_llm.AsyncClient(local.deployment, auth=local.auth, max_retries=0) as c:
                got = await asyncio.gather(
                    *(c.completions.create(prompt=f"p{i}") for i in range(5)),
                    return_exceptions=True,
                )
            errors = [e for e in got if isinstance(e, odsc_llm.RateLimitError)]
        assert len(errors) >= 2
        error = errors[0]
        assert error.status_code == 429 and "request-rate limit exceeded" in str(error)
        assert error.response.json()["code"] == "TooManyRequests"
        assert "retry-after" not in error.response.headers
        counts = local.throttle.counts()
        assert counts[429] == len(errors) and counts[200] == 5 - len(errors)


@pytest.mark.parametrize("sync", [True, False])
async def test_auto_backs_off_on_a_throttled_deployment(sync: bool) -> None:
    prompts = [f"prompt {i}" for i in range(120)]
    with LocalDeployment(capacity=8, queue_size=4, rate_limit=60, token_delay=0.02) as local:
        if sync:
            client = odsc_llm.Client(local.deployment, auth=local.auth)
            result = client.completions.batch(prompts, max_tokens=50)
        else:
            async with odsc_llm.AsyncClient(local.deployment, auth=local.auth) as aclient:
                result = await aclient.completions.batch(prompts, max_tokens=50)
        counts = local.throttle.counts()
    assert result.ok, result.errors[:1]
    assert [c.choices[0].text if c else None for c in result.results] == [
        f"You said: {p}" for p in prompts
    ]
    summary = result.summary
    assert summary.throttled_429 + summary.throttled_503 == counts[429] + counts[503] > 0
    assert summary.cuts >= 1  # the controller backed off
    assert summary.final_concurrency is not None and summary.final_concurrency < 256


@pytest.mark.parametrize("n", [1500, 5000])
async def test_huge_concurrency_finishes_and_stays_within_the_pool(
    emulator: LocalDeployment, n: int
) -> None:
    # Bounded: 1,200 prompts (more than the pool of 1,000) at concurrency=n.
    prompts = [f"p{i}" for i in range(1200)]
    async with odsc_llm.AsyncClient(emulator.deployment, auth=emulator.auth) as client:
        result = await asyncio.wait_for(
            client.completions.batch(prompts, concurrency=n, max_tokens=2), timeout=240
        )
    assert result.ok and result.summary.ok == 1200
    assert result.summary.peak_in_flight <= C.DEFAULT_LIMITS.max_connections


async def test_a_shared_controller_is_clean_after_fail_fast_and_is_reused() -> None:
    control = Controller(fixed=4, max_concurrency=256, rate_limit=None)

    async def call(item: int) -> int:
        await asyncio.sleep(0.01)
        if item == 5:
            raise Status(400)
        return item

    with pytest.raises(Status):
        await run_batch(call, range(50), controller=control, fail_fast=True)
    assert control.in_flight == 0  # no slot leaked by cancelled or unstarted items
    again = await run_batch(_noop, range(10), controller=control)
    assert again.ok and again.summary.peak_in_flight <= 4


async def test_a_waiter_cancelled_then_skipped_by_a_release_leaves_cleanly() -> None:
    # Python 3.10's asyncio.run cancels every task at once on Ctrl-C: a task in flight
    # releases its slot before the cancelled waiter wakes, and _wake pops (and skips)
    # the waiter's cancelled future. The waiter must then just raise CancelledError.
    control = Controller(fixed=1, max_concurrency=256, rate_limit=None)
    await control.acquire()
    waiter = asyncio.ensure_future(control.acquire())
    await asyncio.sleep(0)  # the waiter is now queued
    assert len(control._waiters) == 1
    waiter.cancel()
    control.release()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert control.in_flight == 0 and not control._waiters
    await asyncio.wait_for(control.acquire(), timeout=1)  # the slot is free again
    control.release()
