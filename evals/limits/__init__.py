"""Limits on a model's calls: rate limits, adaptive concurrency, server pauses, and run-level stops."""

from evals.limits.aimd import AdaptiveConcurrency
from evals.limits.breaker import BudgetExceeded, CircuitBreaker, CircuitOpen, ReplayStopped
from evals.limits.bucket import LocalRateLimiter, RateLimiter, TokenBucket
from evals.limits.headers import RateLimitHint, parse_duration, parse_rate_limit_headers, retry_after_s
from evals.limits.model import ModelLimits, Ticket

__all__ = [
    "AdaptiveConcurrency",
    "BudgetExceeded",
    "CircuitBreaker",
    "CircuitOpen",
    "LocalRateLimiter",
    "ModelLimits",
    "RateLimitHint",
    "RateLimiter",
    "ReplayStopped",
    "Ticket",
    "TokenBucket",
    "parse_duration",
    "parse_rate_limit_headers",
    "retry_after_s",
]
