"""Requests and tokens per minute: the `RateLimiter` protocol and its in-process token buckets.

The buckets follow GCRA (a token bucket kept as one number, the theoretical arrival time): a
caller reserves at once and is told how long to wait, so waiting is one `sleep`, callers are
served in arrival order, and an injected clock makes every wait exact in tests. The Redis
limiter in `jobs.ratelimit` runs the same arithmetic in a Lua script, shared by all workers.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from evals.models import ModelSpec

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

BURST_S = 1.0
"""A full bucket holds this many seconds of rate: providers enforce per-minute limits on
sub-minute windows, so a minute's worth sent at once would be refused."""


class RateLimiter(Protocol):
    """Shared request and token budgets of one model, and the pause a server asked for."""

    async def acquire(self, tokens_estimate: int) -> None:
        """Wait until one more request of about `tokens_estimate` tokens may be sent."""
        ...

    async def record(self, actual_tokens: int, *, estimated: int) -> None:
        """Correct the token budget once the real usage of a call is known."""
        ...

    async def penalize(self, retry_after_s: float) -> None:
        """Hold every sender of this model for `retry_after_s` seconds from now."""
        ...


class TokenBucket:
    """One GCRA bucket (not thread-safe by itself; `LocalRateLimiter` holds the lock).

    Args:
        per_minute: The sustained rate.
        burst_s: The bucket's size in seconds of rate (at least one unit).
    """

    def __init__(self, *, per_minute: float, burst_s: float = BURST_S) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.interval_s = 60.0 / per_minute
        """Seconds one unit takes to drip back in."""
        self.capacity = max(1.0, burst_s / self.interval_s)
        self._tat = -math.inf

    def reserve(self, amount: float, at: float) -> float:
        """Take `amount` units for a call made at time `at`; returns how long after `at` to wait.

        A call larger than the bucket waits for a full bucket, then goes, leaving the rest as debt
        that later calls wait for.
        """
        tat = max(self._tat, at)
        self._tat = tat + amount * self.interval_s
        allow_at = tat + (min(amount, self.capacity) - self.capacity) * self.interval_s
        return max(0.0, allow_at - at)

    def give_back(self, amount: float) -> None:
        """Return `amount` units (negative: take more) after the real usage is known."""
        self._tat -= amount * self.interval_s


class LocalRateLimiter:
    """`rpm` and `tpm` buckets for the calls of one process (the embedded default).

    Thread-safe, and bound to no event loop, so every run of the model in the process can
    share it.

    Args:
        rpm: Requests per minute; None for no request limit.
        tpm: Tokens per minute; None for no token limit.
        burst_s: See `BURST_S`.
        clock: Monotonic seconds (tests inject one).
        sleep: Awaited for each wait (tests inject a recorder).
    """

    def __init__(
        self,
        *,
        rpm: int | None = None,
        tpm: int | None = None,
        burst_s: float = BURST_S,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._requests = TokenBucket(per_minute=rpm, burst_s=burst_s) if rpm else None
        self._tokens = TokenBucket(per_minute=tpm, burst_s=burst_s) if tpm else None
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._pause_until = -math.inf
        self.pauses: list[float] = []
        """Every pause asked for through `penalize`, in seconds."""
        self.waited_s = 0.0
        """Total time callers were told to wait."""

    @classmethod
    def for_spec(
        cls, spec: ModelSpec, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> LocalRateLimiter:
        """A limiter with the model's declared `rpm` and `tpm`."""
        return cls(rpm=spec.rpm, tpm=spec.tpm, clock=clock, sleep=sleep)

    def reserve(self, tokens_estimate: int) -> float:
        """Reserve one request now; returns the seconds to wait before sending it."""
        with self._lock:
            now = self._clock()
            start = max(now, self._pause_until)  # a paused model serves no one before the pause ends
            wait = 0.0
            if self._requests is not None:
                wait = self._requests.reserve(1, start)
            if self._tokens is not None:
                wait = max(wait, self._tokens.reserve(tokens_estimate, start))
            wait += start - now
            self.waited_s += wait
            return wait

    async def acquire(self, tokens_estimate: int) -> None:
        wait = self.reserve(tokens_estimate)
        if wait > 0:
            await self._sleep(wait)

    async def record(self, actual_tokens: int, *, estimated: int) -> None:
        if self._tokens is not None and actual_tokens != estimated:
            with self._lock:
                self._tokens.give_back(estimated - actual_tokens)

    async def penalize(self, retry_after_s: float) -> None:
        with self._lock:
            self._pause_until = max(self._pause_until, self._clock() + retry_after_s)
            self.pauses.append(retry_after_s)
