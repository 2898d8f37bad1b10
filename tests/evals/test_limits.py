"""Rate limits, adaptive concurrency, rate-limit headers and the circuit breaker, on injected clocks."""

from __future__ import annotations

import asyncio
from email.utils import formatdate

import pytest

from evals.limits import (
    AdaptiveConcurrency,
    CircuitBreaker,
    LocalRateLimiter,
    ModelLimits,
    RateLimitHint,
    parse_duration,
    parse_rate_limit_headers,
)
from evals.results import Completion


class Clock:
    """A settable monotonic clock."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Sleeps(list[float]):
    """Records the waits asked for; optionally moves a clock forward by each."""

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__()
        self.clock = clock

    async def __call__(self, delay: float) -> None:
        self.append(delay)
        if self.clock is not None:
            self.clock.now += delay


# -- token buckets --


async def test_rpm_lets_a_one_second_burst_through_then_spaces_requests() -> None:
    clock, sleeps = Clock(), Sleeps()
    limiter = LocalRateLimiter(rpm=120, clock=clock, sleep=sleeps)  # 2/s, bucket of 2

    for _ in range(6):
        await limiter.acquire(1)

    assert sleeps == pytest.approx([0.5, 1.0, 1.5, 2.0])  # the first two went at once


@pytest.mark.parametrize("rpm", [30, 600, 10_000])
def test_rpm_is_honoured_over_two_minutes_of_eager_senders(rpm: int) -> None:
    clock = Clock()
    limiter = LocalRateLimiter(rpm=rpm, clock=clock)
    sent: list[float] = []
    # Senders arrive every 1 ms, far faster than allowed; each goes when told.
    while clock.now < 1000.0 + 120:
        sent.append(clock.now + limiter.reserve(1))
        clock.now += 0.001 if len(sent) % 50 else 0.05
    sent = [t for t in sent if t < 1000.0 + 120]

    burst = max(1, rpm // 60)
    for start in (1000.0, 1030.0, 1060.0):
        in_window = sum(start <= t < start + 60 for t in sent)
        assert in_window <= rpm + burst
        assert in_window >= rpm * 0.97


async def test_tpm_uses_the_estimate_then_the_real_usage() -> None:
    clock = Clock()
    sleeps = Sleeps(clock)
    limiter = LocalRateLimiter(tpm=600, clock=clock, sleep=sleeps)  # 10 tokens/s, bucket of 10

    await limiter.acquire(10)
    await limiter.acquire(10)  # the bucket is empty: 1 s
    await limiter.record(2, estimated=10)  # it only used 2: 8 come back
    await limiter.acquire(10)  # 8 available: 0.2 s

    assert sleeps == pytest.approx([1.0, 0.2])


async def test_a_request_larger_than_the_bucket_goes_when_it_is_full_and_leaves_debt() -> None:
    clock, sleeps = Clock(), Sleeps()
    limiter = LocalRateLimiter(tpm=600, clock=clock, sleep=sleeps)

    await limiter.acquire(50)  # 5x the bucket: goes now
    await limiter.acquire(1)  # waits for the 40 owed plus its own

    assert sleeps == pytest.approx([4.1])


async def test_a_penalty_pauses_every_sender_until_it_ends() -> None:
    clock, sleeps = Clock(), Sleeps()
    limiter = LocalRateLimiter(rpm=60, clock=clock, sleep=sleeps)

    await limiter.penalize(5.0)
    clock.now += 1.0
    await limiter.acquire(1)
    await limiter.acquire(1)

    assert sleeps == pytest.approx([4.0, 5.0])  # after the pause, still one per second
    assert limiter.pauses == [5.0]


async def test_no_limits_means_no_waiting() -> None:
    sleeps = Sleeps()
    limiter = LocalRateLimiter(sleep=sleeps)

    for _ in range(1000):
        await limiter.acquire(10_000)

    assert sleeps == []


# -- adaptive concurrency --


async def test_one_cut_per_episode_not_per_429() -> None:
    aimd = AdaptiveConcurrency(16)
    episodes = [await aimd.acquire() for _ in range(16)]
    for episode in episodes[:5]:  # five 429s from calls that were all in flight together
        aimd.release()
        aimd.on_pushback(episode)

    assert (aimd.limit, aimd.cuts) == (8, 1)

    for _ in range(11):
        aimd.release()
    late = await aimd.acquire()  # started after the cut: its 429 is a new episode
    aimd.release()
    aimd.on_pushback(late)

    assert (aimd.limit, aimd.cuts, aimd.lowest) == (4, 2, 4)


async def test_the_cut_limit_is_enforced() -> None:
    aimd = AdaptiveConcurrency(8, initial=2)
    in_flight = peak = 0

    async def call() -> None:
        nonlocal in_flight, peak
        await aimd.acquire()
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        aimd.release()

    await asyncio.gather(*(call() for _ in range(20)))

    assert peak == 2 and aimd.in_flight == 0


async def test_sustained_success_grows_back_one_slot_at_a_time_up_to_the_ceiling() -> None:
    aimd = AdaptiveConcurrency(6, initial=3)
    limits = []
    for _ in range(40):
        episode = await aimd.acquire()
        aimd.release()
        aimd.on_success(episode)
        limits.append(aimd.limit)

    assert limits[:3] == [3, 3, 4]  # +1 after 3 successes at 3
    assert limits[6] == 5 and max(limits) == 6 and limits[-1] == 6


async def test_successes_of_calls_sent_before_a_cut_do_not_grow_it() -> None:
    aimd = AdaptiveConcurrency(8, increase_after=1)
    old = await aimd.acquire()
    aimd.release()
    aimd.on_pushback(old)

    aimd.on_success(old)

    assert aimd.limit == 4


async def test_the_floor_holds() -> None:
    aimd = AdaptiveConcurrency(8, min_concurrency=3)
    for _ in range(5):
        episode = await aimd.acquire()
        aimd.release()
        aimd.on_pushback(episode)

    assert aimd.limit == 3


async def test_a_cancelled_waiter_leaks_no_slot() -> None:
    aimd = AdaptiveConcurrency(1)
    await aimd.acquire()
    waiter = asyncio.create_task(aimd.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    aimd.release()

    await asyncio.wait_for(aimd.acquire(), 1)
    assert aimd.in_flight == 1


# -- headers --


@pytest.mark.parametrize(("raw", "seconds"), [
    ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("0.5s", 0.5), ("1.5", 1.5), ("250us", 0.00025),
    ("soon", None), ("", None), ("5 minutes", None),
])
def test_reset_durations(raw: str, seconds: float | None) -> None:
    assert parse_duration(raw) == (pytest.approx(seconds) if seconds is not None else None)


def test_reset_as_a_unix_time_or_a_date() -> None:
    now = 1_700_000_000.0

    assert parse_duration(str(now + 12), now=now) == pytest.approx(12)
    assert parse_duration(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30)
    assert parse_duration("2023-11-14T22:13:50Z", now=now) == pytest.approx(30)


def test_all_rate_limit_headers_are_read_whatever_their_case() -> None:
    hint = parse_rate_limit_headers({
        "Retry-After": "3", "X-RateLimit-Remaining-Requests": "0", "x-ratelimit-remaining-tokens": "1500",
        "x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s",
    })

    assert hint == RateLimitHint(retry_after_s=3.0, remaining_requests=0, remaining_tokens=1500,
                                 reset_requests_s=1.0, reset_tokens_s=360.0)


@pytest.mark.parametrize(("headers", "rejected", "pause"), [
    ({"retry-after-ms": "250", "retry-after": "9"}, True, 0.25),  # the precise one wins
    ({"retry-after": "2", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "7s"}, True, 2.0),
    ({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "7s",
      "x-ratelimit-remaining-requests": "3", "x-ratelimit-reset-requests": "1s"}, True, 7.0),  # the used-up budget
    ({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "2s"}, True, 2.0),  # a 429 that says no more
    ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "800ms"}, False, 0.8),
    ({"x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": "800ms"}, False, None),
    ({"retry-after": "3"}, False, None),  # an answer is not a refusal
    ({}, True, None),
])
def test_pause_from_headers(headers: dict[str, str], rejected: bool, pause: float | None) -> None:
    got = parse_rate_limit_headers(headers).pause_s(rejected=rejected)

    assert got == (pytest.approx(pause) if pause is not None else None)


# -- the limits around an attempt --


async def test_a_429_with_retry_after_pauses_every_sender_and_cuts_once() -> None:
    clock, sleeps = Clock(), Sleeps()
    limits = ModelLimits(concurrency=AdaptiveConcurrency(8),
                         limiter=LocalRateLimiter(clock=clock, sleep=sleeps))
    first, second = await limits.enter(10), await limits.enter(10)

    assert await limits.failed(first, kind="rate_limit", status=429, headers={"retry-after": "3"}) == 3.0
    assert await limits.failed(second, kind="rate_limit", status=429, headers={"retry-after": "3"}) == 3.0
    await limits.enter(10)  # any sender now waits out the pause

    assert sleeps == [3.0]
    assert (limits.concurrency.limit, limits.concurrency.cuts) == (4, 1)
    assert limits.outcomes == {"rate_limit": 2}


async def test_an_answer_that_used_up_the_budget_pauses_until_its_reset() -> None:
    clock, sleeps = Clock(), Sleeps()
    limits = ModelLimits(concurrency=AdaptiveConcurrency(8), limiter=LocalRateLimiter(clock=clock, sleep=sleeps))
    ticket = await limits.enter(10)

    await limits.succeeded(ticket, tokens=12, headers={"x-ratelimit-remaining-requests": "0",
                                                       "x-ratelimit-reset-requests": "2s"})
    await limits.enter(10)

    assert sleeps == [2.0] and limits.pauses == [2.0]


async def test_a_pause_is_capped() -> None:
    sleeps = Sleeps()
    limits = ModelLimits(concurrency=AdaptiveConcurrency(2), limiter=LocalRateLimiter(sleep=sleeps), pause_cap_s=60)
    ticket = await limits.enter(1)

    assert await limits.failed(ticket, kind="rate_limit", status=429, headers={"retry-after": "86400"}) == 60


async def test_without_a_shared_limiter_the_sender_backs_off_alone() -> None:
    limits = ModelLimits(concurrency=AdaptiveConcurrency(4))
    ticket = await limits.enter(1)

    assert await limits.failed(ticket, kind="rate_limit", status=429, headers={"retry-after": "3"}) is None
    assert limits.concurrency.limit == 2


async def test_a_server_error_neither_cuts_nor_pauses() -> None:
    limits = ModelLimits(concurrency=AdaptiveConcurrency(4), limiter=LocalRateLimiter())
    ticket = await limits.enter(1)

    assert await limits.failed(ticket, kind="server", status=500, headers={"retry-after": "3"}) is None
    assert limits.concurrency.limit == 4 and limits.concurrency.in_flight == 0


# -- circuit breaker --


def _done(ok: bool) -> Completion:
    if ok:
        return Completion(case_id="c", output="yes")
    return Completion(case_id="c", error="HTTP 500: boom", error_kind="server")


def test_the_breaker_waits_for_enough_completions() -> None:
    breaker = CircuitBreaker(window=50, min_completions=20, max_error_rate=0.5)

    reasons = [breaker.record(_done(False)) for _ in range(19)]

    assert reasons == [None] * 19
    reason = breaker.record(_done(False))
    assert reason is not None and reason.startswith("20 of the last 20 cases failed (100%")
    assert "server" in reason and "HTTP 500: boom" in reason


def test_the_breaker_judges_only_the_recent_window() -> None:
    breaker = CircuitBreaker(window=10, min_completions=10, max_error_rate=0.5)
    outcomes = [False] * 4 + [True] * 10 + [False, True] * 2 + [False] * 3
    reasons = [breaker.record(_done(ok)) for ok in outcomes]

    assert reasons[:-1] == [None] * (len(outcomes) - 1)  # never 5 failures in the last 10 until the end
    assert reasons[-1] is not None and reasons[-1].startswith("5 of the last 10")
