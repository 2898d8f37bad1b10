"""The Redis rate limiter, shared by separate connections as by separate worker processes (real Redis)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from evals.limits import LocalRateLimiter
from evals.models import ModelSpec
from jobs.ratelimit import KEY_PREFIX, LimitsHub, RedisRateLimiter

REDIS_URL = os.environ.get("TURNOUT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def model() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def clients(model: str) -> AsyncIterator[tuple[aioredis.Redis, aioredis.Redis]]:
    """Two clients, i.e. two connections, as two worker processes would hold."""
    first, second = aioredis.Redis.from_url(REDIS_URL), aioredis.Redis.from_url(REDIS_URL)
    try:
        await first.ping()
    except aioredis.ConnectionError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is not reachable ({exc}); start it as DESIGN.md section 8 says")
    yield first, second
    keys = [key async for key in first.scan_iter(f"{KEY_PREFIX}:{{{model}}}:*")]
    if keys:
        await first.delete(*keys)
    await first.aclose()
    await second.aclose()


async def test_two_connections_share_one_rpm(clients: tuple[aioredis.Redis, aioredis.Redis], model: str) -> None:
    clock = Clock()
    first, second = (RedisRateLimiter(c, model=model, rpm=60, clock=clock) for c in clients)

    waits = [await limiter.reserve(1) for limiter in (first, second) * 3]

    assert waits == pytest.approx([0, 1, 2, 3, 4, 5])  # one queue, one request per second


async def test_the_shared_rpm_holds_in_real_time(clients: tuple[aioredis.Redis, aioredis.Redis], model: str) -> None:
    limiters = [RedisRateLimiter(c, model=model, rpm=1200, burst_s=0.05) for c in clients]  # 20/s, one at a time
    sent: list[float] = []

    async def send(limiter: RedisRateLimiter) -> None:
        await limiter.acquire(1)
        sent.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*(send(limiter) for limiter in limiters for _ in range(10)))

    assert len(sent) == 20
    assert max(sent) - started >= 19 * 0.05 * 0.9  # 20 requests at 20/s take about 0.95 s, whoever sends them


async def test_tokens_are_estimated_then_corrected_for_everyone(
    clients: tuple[aioredis.Redis, aioredis.Redis], model: str
) -> None:
    clock = Clock()
    first, second = (RedisRateLimiter(c, model=model, tpm=600, clock=clock) for c in clients)  # 10 tokens/s

    assert await first.reserve(10) == 0
    assert await second.reserve(10) == pytest.approx(1.0)
    await first.record(2, estimated=10)  # the first call used 2 of its 10
    assert await second.reserve(10) == pytest.approx(1.2)


async def test_a_pause_holds_every_process(clients: tuple[aioredis.Redis, aioredis.Redis], model: str) -> None:
    first, second = (RedisRateLimiter(c, model=model) for c in clients)  # no rpm/tpm, Redis's own clock

    await first.penalize(60.0)

    # held, and for no longer than the pause: a minute no loaded machine spends between two Redis calls
    assert 0 < await second.reserve(1) <= 60.0
    assert first.pauses == [60.0]


async def test_a_pause_spreads_the_senders_it_held(clients: tuple[aioredis.Redis, aioredis.Redis], model: str) -> None:
    clock = Clock()
    first, second = (RedisRateLimiter(c, model=model, rpm=60, clock=clock) for c in clients)

    await first.penalize(3.0)

    assert [await second.reserve(1), await first.reserve(1), await second.reserve(1)] == pytest.approx([3, 4, 5])


async def test_the_keys_expire(clients: tuple[aioredis.Redis, aioredis.Redis], model: str) -> None:
    limiter = RedisRateLimiter(clients[0], model=model, rpm=60, tpm=1000)
    await limiter.acquire(10)
    await limiter.penalize(1.0)

    keys = [key async for key in clients[0].scan_iter(f"{KEY_PREFIX}:{{{model}}}:*")]
    assert len(keys) == 3
    ttls = [await clients[0].pttl(key) for key in keys]
    assert all(0 < ttl <= 62_000 for ttl in ttls)


async def test_without_redis_it_limits_in_process() -> None:
    down = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    limiter = RedisRateLimiter(down, model="down", rpm=60)

    assert await limiter.reserve(1) == 0
    assert await limiter.reserve(1) == pytest.approx(1.0, abs=0.05)  # the fallback's bucket
    await down.aclose()


async def test_the_hub_gives_every_run_of_a_model_the_same_limits(model: str) -> None:
    spec = ModelSpec(name=model, model="m", base_url="http://127.0.0.1:1/v1", rpm=600, max_concurrency=6)
    shared = LimitsHub(REDIS_URL)
    local = LimitsHub()

    limits = shared.for_model(spec)

    assert shared.for_model(spec) is limits and isinstance(limits.limiter, RedisRateLimiter)
    assert limits.concurrency.max_concurrency == 6
    assert isinstance(local.for_model(spec).limiter, LocalRateLimiter)
    assert LimitsHub().for_model(spec).limiter is local.for_model(spec).limiter  # one per process
    await shared.aclose()
    await local.aclose()
