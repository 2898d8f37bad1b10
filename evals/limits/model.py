"""Everything that throttles one model's calls, used by the provider around every attempt."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from evals.limits.aimd import AdaptiveConcurrency
from evals.limits.bucket import LocalRateLimiter, RateLimiter
from evals.limits.headers import budget_exhausted, parse_rate_limit_headers
from evals.models import ModelSpec
from evals.results import ErrorKind

PAUSE_CAP_S = 120.0
"""A server's pause is honoured up to this long, so one bad header cannot park a model for hours."""
PUSHBACK_STATUSES = frozenset({429, 503})
"""Refusals that mean "slow down": they cut the concurrency and may pause every sender."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """One attempt let through: what to report back when it ends."""

    episode: int
    tokens_estimate: int


class ModelLimits:
    """A model's adaptive concurrency (this process) and rate limiter (shared, may be None).

    Share one instance between all runs of the model in an event loop.

    Args:
        concurrency: The AIMD controller; its ceiling is the model's `max_concurrency`.
        limiter: Shared rpm/tpm budgets and pauses; None leaves each sender to wait out its own
            `Retry-After` (no pause of the others, no rpm/tpm).
        pause_cap_s: See `PAUSE_CAP_S`.
    """

    def __init__(
        self, *, concurrency: AdaptiveConcurrency, limiter: RateLimiter | None = None,
        pause_cap_s: float = PAUSE_CAP_S,
    ) -> None:
        self.concurrency = concurrency
        self.limiter = limiter
        self._pause_cap_s = pause_cap_s
        self.outcomes: Counter[str] = Counter()
        """Every attempt's outcome: `ok` or an error kind."""
        self.pauses: list[float] = []
        """Every pause of all senders this process asked for, in seconds."""

    @classmethod
    def for_spec(cls, spec: ModelSpec, *, limiter: RateLimiter | None = None) -> ModelLimits:
        """Limits with the model's `max_concurrency`; `limiter` defaults to in-process rpm/tpm buckets."""
        return cls(concurrency=AdaptiveConcurrency(spec.max_concurrency),
                   limiter=limiter if limiter is not None else LocalRateLimiter.for_spec(spec))

    async def enter(self, tokens_estimate: int) -> Ticket:
        """Wait for a concurrency slot, then for the rate limits (and any pause)."""
        episode = await self.concurrency.acquire()
        if self.limiter is not None:
            try:
                await self.limiter.acquire(tokens_estimate)
            except BaseException:
                self.concurrency.release()
                raise
        return Ticket(episode, tokens_estimate)

    def abandon(self, ticket: Ticket) -> None:
        """The attempt was cancelled: give its slot back."""
        self.concurrency.release()

    async def succeeded(self, ticket: Ticket, *, tokens: int, headers: Mapping[str, str] | None) -> None:
        """The attempt was answered with `tokens` tokens in all.

        Args:
            ticket: From `enter`.
            tokens: Prompt plus completion tokens the call used.
            headers: The answer's headers; a used-up budget pauses every sender until its reset.
        """
        self.concurrency.release()
        self.concurrency.on_success(ticket.episode)
        self.outcomes["ok"] += 1
        if self.limiter is None:
            return
        await self.limiter.record(tokens, estimated=ticket.tokens_estimate)
        if headers is not None and budget_exhausted(headers):
            await self._pause(parse_rate_limit_headers(headers).pause_s(rejected=False))

    async def failed(
        self, ticket: Ticket, *, kind: ErrorKind, status: int | None, headers: Mapping[str, str] | None
    ) -> float | None:
        """The attempt failed.

        Args:
            ticket: From `enter`.
            kind: How it failed.
            status: The HTTP status, when there was a response.
            headers: The error response's headers.

        Returns:
            The pause every sender (this one included) now waits out in `enter`, or None when
            the caller should back off by itself.
        """
        self.concurrency.release()
        self.outcomes[kind] += 1
        if status not in PUSHBACK_STATUSES:
            return None
        self.concurrency.on_pushback(ticket.episode)
        if self.limiter is None:
            return None
        await self.limiter.record(0, estimated=ticket.tokens_estimate)  # a refused call used no tokens
        if headers is None:
            return None
        return await self._pause(parse_rate_limit_headers(headers).pause_s(rejected=True))

    async def _pause(self, pause_s: float | None) -> float | None:
        if pause_s is None or self.limiter is None:
            return None
        pause_s = min(pause_s, self._pause_cap_s)
        await self.limiter.penalize(pause_s)
        self.pauses.append(pause_s)
        return pause_s
