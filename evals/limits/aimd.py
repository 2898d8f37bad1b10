"""Adaptive concurrency (AIMD): fewer calls in flight when the server pushes back, more after success.

An *episode* of pushback is every 429/503 from calls that were already in flight when the
limit was last cut: those were sent under the old limit, so they say nothing new and cut
nothing. Only a refusal of a call started after the cut cuts again (as TCP halves its window
once per round trip, not once per lost packet).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque


class AdaptiveConcurrency:
    """A semaphore whose size moves between `min_concurrency` and `max_concurrency`.

    Args:
        max_concurrency: The declared ceiling (the model's `max_concurrency`).
        min_concurrency: The floor a cut never goes below.
        initial: The starting limit; the ceiling when None.
        decrease_factor: The limit is multiplied by this on a new episode of pushback.
        increase_after: Successes (since the last change) that add one slot; None means as
            many as the current limit, i.e. one slot per "round" of successful calls.
    """

    def __init__(
        self,
        max_concurrency: int,
        *,
        min_concurrency: int = 1,
        initial: int | None = None,
        decrease_factor: float = 0.5,
        increase_after: int | None = None,
    ) -> None:
        if not 1 <= min_concurrency <= max_concurrency:
            raise ValueError("need 1 <= min_concurrency <= max_concurrency")
        if not 0 < decrease_factor < 1:
            raise ValueError("decrease_factor must be between 0 and 1")
        self.max_concurrency = max_concurrency
        self.min_concurrency = min_concurrency
        self._limit = max(min_concurrency, min(max_concurrency, initial or max_concurrency))
        self._decrease_factor = decrease_factor
        self._increase_after = increase_after
        self._in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._episode = 0
        self._successes = 0
        self.cuts = 0
        """How many times the limit was cut."""
        self.lowest = self._limit
        """The lowest the limit has been."""

    @property
    def limit(self) -> int:
        """Calls allowed in flight now."""
        return self._limit

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def acquire(self) -> int:
        """Wait for a slot; returns the episode the call starts in (give it back to `on_*`)."""
        if self._in_flight < self._limit and not self._waiters:
            self._in_flight += 1
            return self._episode
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            else:
                self._waiters.remove(waiter)
            raise
        return self._episode

    def release(self) -> None:
        """Give a slot back."""
        self._in_flight -= 1
        self._wake()

    def on_pushback(self, episode: int) -> bool:
        """A call started in `episode` was refused (429/503); returns True when this cut the limit."""
        if episode != self._episode:
            return False  # already cut for this episode
        self._episode += 1
        self._successes = 0
        cut = max(self.min_concurrency, math.floor(self._limit * self._decrease_factor))
        if cut < self._limit:
            self._limit = cut
            self.cuts += 1
            self.lowest = min(self.lowest, cut)
        return True

    def on_success(self, episode: int) -> None:
        """A call started in `episode` was answered; enough of them at the current limit add a slot."""
        if episode != self._episode:
            return  # sent under an older limit: no evidence about this one
        self._successes += 1
        if self._limit >= self.max_concurrency:
            return
        if self._successes >= (self._increase_after or self._limit):
            self._limit += 1
            self._successes = 0
            self._wake()

    def _wake(self) -> None:
        while self._waiters and self._in_flight < self._limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._in_flight += 1
                waiter.set_result(None)
