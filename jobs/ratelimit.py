"""Rate limits shared by every worker process: a Redis token bucket per model, and the limits hub.

The buckets run the same GCRA arithmetic as `evals.limits.LocalRateLimiter`, in one Lua script
per call, so reserving a request, its tokens and honouring a pause is atomic across processes.
Keys are per model name (`turnout:ratelimit:{name}:requests|tokens|pause`) and expire on their
own. If Redis cannot be reached the limiter falls back to in-process buckets (and says so in
the log): a coordination outage slows nothing down, and a 429 is still handled by the provider.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from evals.limits import AdaptiveConcurrency, LocalRateLimiter, ModelLimits, RateLimiter
from evals.limits.bucket import BURST_S, Sleep
from evals.models import ModelSpec

log = logging.getLogger(__name__)

KEY_PREFIX = "turnout:ratelimit"
RETRY_REDIS_AFTER_S = 30.0
"""After Redis failed, limit in process this long before trying it again (no timeout on every call)."""

# Times are in milliseconds; ARGV[1] is the caller's clock, or '' for Redis's own (shared by all).
_NOW = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
"""

_ACQUIRE = _NOW + """
-- KEYS: requests bucket, tokens bucket, pause. ARGV[2..6]: request interval, request capacity,
-- token interval, token capacity (interval 0 = no limit), tokens of this request.
local start = now
local pause = tonumber(redis.call('GET', KEYS[3]))
if pause and pause > start then start = pause end
local function take(key, interval, capacity, amount)
  if interval <= 0 then return 0 end
  local tat = tonumber(redis.call('GET', key)) or start
  if tat < start then tat = start end
  local next_tat = tat + amount * interval
  local allow_at = tat + (math.min(amount, capacity) - capacity) * interval
  redis.call('SET', key, string.format('%.3f', next_tat), 'PX', math.ceil(next_tat - now) + 60000)
  return math.max(0, allow_at - start)
end
local wait = math.max(take(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]), 1),
                      take(KEYS[2], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])))
return string.format('%.3f', wait + start - now)
"""

_GIVE_BACK = """
-- KEYS[1]: tokens bucket. ARGV: tokens to give back (negative: take), token interval.
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat then
  redis.call('SET', KEYS[1], string.format('%.3f', tat - tonumber(ARGV[1]) * tonumber(ARGV[2])), 'KEEPTTL')
end
return 1
"""

_PAUSE = _NOW + """
-- KEYS[1]: pause. ARGV[2]: milliseconds from now.
local pause_until = now + tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]))
if not current or current < pause_until then
  redis.call('SET', KEYS[1], string.format('%.3f', pause_until), 'PX', math.ceil(tonumber(ARGV[2])) + 1000)
end
return 1
"""


def _interval_ms(per_minute: int | None) -> float:
    return 60_000.0 / per_minute if per_minute else 0.0


def _capacity(per_minute: int | None, burst_s: float) -> float:
    return max(1.0, (per_minute or 0) * burst_s / 60.0)


class RedisRateLimiter:
    """A model's rpm/tpm buckets and pause in Redis, shared by every process that uses the model.

    Args:
        client: An asyncio Redis client (`redis.asyncio.Redis`).
        model: The model's Turnout name, which keys the buckets.
        rpm: Requests per minute; None for no request limit.
        tpm: Tokens per minute; None for no token limit.
        burst_s: The buckets' size in seconds of rate (see `evals.limits.bucket.BURST_S`).
        clock: Unix seconds sent to the script (tests pin it); None uses Redis's clock.
        sleep: Awaited for each wait (tests inject a recorder).
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        model: str,
        rpm: int | None = None,
        tpm: int | None = None,
        burst_s: float = BURST_S,
        clock: Callable[[], float] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._client = client
        base = f"{KEY_PREFIX}:{{{model}}}"  # one hash slot per model, for Redis Cluster
        self._keys = [f"{base}:requests", f"{base}:tokens", f"{base}:pause"]
        self._requests = (_interval_ms(rpm), _capacity(rpm, burst_s))
        self._tokens = (_interval_ms(tpm), _capacity(tpm, burst_s))
        self._clock = clock
        self._sleep = sleep
        self._acquire = client.register_script(_ACQUIRE)
        self._give_back = client.register_script(_GIVE_BACK)
        self._pause = client.register_script(_PAUSE)
        self._fallback: LocalRateLimiter | None = None
        self._redis_down_until = 0.0
        self._rpm, self._tpm, self._burst_s = rpm, tpm, burst_s
        self.pauses: list[float] = []
        """Every pause asked for through `penalize`, in seconds."""

    @classmethod
    def for_spec(cls, client: aioredis.Redis, spec: ModelSpec, **options: Any) -> RedisRateLimiter:
        """A limiter with the model's declared `rpm` and `tpm`."""
        return cls(client, model=spec.name, rpm=spec.rpm, tpm=spec.tpm, **options)

    def _now_ms(self) -> str:
        return "" if self._clock is None else f"{self._clock() * 1000:.3f}"

    def _local(self, exc: RedisError | None = None) -> LocalRateLimiter:
        if exc is not None:
            log.warning("Redis is unreachable for the rate limits of %s (%s); limiting in this process for %g s",
                        self._keys[0], exc, RETRY_REDIS_AFTER_S)
            self._redis_down_until = time.monotonic() + RETRY_REDIS_AFTER_S
        if self._fallback is None:
            self._fallback = LocalRateLimiter(rpm=self._rpm, tpm=self._tpm, burst_s=self._burst_s, sleep=self._sleep)
        return self._fallback

    def _redis_down(self) -> bool:
        return self._redis_down_until > time.monotonic()

    async def reserve(self, tokens_estimate: int) -> float:
        """Reserve one request now; returns the seconds to wait before sending it."""
        if self._redis_down():
            return self._local().reserve(tokens_estimate)
        args: list[str | float] = [self._now_ms(), *self._requests, *self._tokens, tokens_estimate]
        try:
            raw = await self._acquire(keys=self._keys, args=args)
        except RedisError as exc:
            return self._local(exc).reserve(tokens_estimate)
        return float(raw) / 1000

    async def acquire(self, tokens_estimate: int) -> None:
        wait = await self.reserve(tokens_estimate)
        if wait > 0:
            await self._sleep(wait)

    async def record(self, actual_tokens: int, *, estimated: int) -> None:
        if not self._tokens[0] or actual_tokens == estimated:
            return
        if self._redis_down():
            await self._local().record(actual_tokens, estimated=estimated)
            return
        try:
            await self._give_back(keys=self._keys[1:2], args=[estimated - actual_tokens, self._tokens[0]])
        except RedisError as exc:
            await self._local(exc).record(actual_tokens, estimated=estimated)

    async def penalize(self, retry_after_s: float) -> None:
        self.pauses.append(retry_after_s)
        if self._redis_down():
            await self._local().penalize(retry_after_s)
            return
        try:
            await self._pause(keys=self._keys[2:3], args=[self._now_ms(), retry_after_s * 1000])
        except RedisError as exc:
            await self._local(exc).penalize(retry_after_s)


_local_limiters: dict[tuple[str, int | None, int | None], LocalRateLimiter] = {}
_local_lock = threading.Lock()


def local_limiter(spec: ModelSpec) -> LocalRateLimiter:
    """The process-wide in-process limiter of a model (shared by threads and event loops)."""
    key = (spec.name, spec.rpm, spec.tpm)
    with _local_lock:
        if key not in _local_limiters:
            _local_limiters[key] = LocalRateLimiter.for_spec(spec)
        return _local_limiters[key]


class LimitsHub:
    """The `ModelLimits` of every model used in one event loop (a cycle run inline, or one task).

    Runs of the same model share its adaptive concurrency and its rate limiter. With a Redis
    URL the rate limits and pauses are shared by all processes; without one they are shared
    by this process (the embedded default). Close it with `aclose()` before the loop ends.

    Args:
        redis_url: Where the shared buckets live; None for in-process buckets.
        client: An existing asyncio Redis client to use instead (not closed by `aclose`).
    """

    def __init__(self, redis_url: str | None = None, *, client: aioredis.Redis | None = None) -> None:
        self._own_client = client is None and redis_url is not None
        self._client = client if client is not None else (
            aioredis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2) if redis_url else None)
        self._limits: dict[str, ModelLimits] = {}

    def for_model(self, spec: ModelSpec) -> ModelLimits:
        """The limits all runs of `spec` in this loop share (created on first use)."""
        limits = self._limits.get(spec.name)
        if limits is None or limits.concurrency.max_concurrency != spec.max_concurrency:
            limiter: RateLimiter = (RedisRateLimiter.for_spec(self._client, spec) if self._client is not None
                                    else local_limiter(spec))
            limits = ModelLimits(concurrency=AdaptiveConcurrency(spec.max_concurrency), limiter=limiter)
            self._limits[spec.name] = limits
        return limits

    async def aclose(self) -> None:
        """Close the Redis connections this hub opened."""
        if self._own_client and self._client is not None:
            await self._client.aclose()

