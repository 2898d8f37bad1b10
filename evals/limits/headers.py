"""What a server says about its rate limits: `Retry-After`, `retry-after-ms` and `x-ratelimit-*` headers.

OpenAI (and Azure, Groq, vLLM behind a gateway...) send `x-ratelimit-remaining-requests` /
`-tokens` and `x-ratelimit-reset-requests` / `-tokens`, the resets as Go durations (`6m0s`,
`20ms`); a 429 or 503 may carry `Retry-After` (seconds or an HTTP date) or `retry-after-ms`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|us|µs|ns|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_EPOCH_THRESHOLD = 1e9
"""A bare number this large is a Unix time, not a number of seconds."""

REMAINING_REQUESTS = "x-ratelimit-remaining-requests"
REMAINING_TOKENS = "x-ratelimit-remaining-tokens"


def parse_duration(raw: str, *, now: float | None = None) -> float | None:
    """Seconds from a reset header: a Go duration (`1m30s`, `250ms`), a number, a Unix time or a date.

    Args:
        raw: The header value.
        now: The current Unix time, for absolute values; defaults to the clock.

    Returns:
        Seconds from now (never negative), or None when the value cannot be read.
    """
    text = raw.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if number >= _EPOCH_THRESHOLD:
            return max(0.0, number - (time.time() if now is None else now))
        return max(0.0, number)
    parts = _DURATION_PART.findall(text)
    if parts and "".join(value + unit for value, unit in parts) == text:
        return sum(float(value) * _UNIT_S[unit] for value, unit in parts)
    return _seconds_until_date(text, now)


def _seconds_until_date(text: str, now: float | None) -> float | None:
    when: datetime | None = None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_after_s(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Read `retry-after-ms` or `Retry-After` (seconds or an HTTP date).

    Args:
        headers: Response headers, a case-insensitive mapping (or lower-case keys).
        now: The current Unix time; defaults to the clock (tests pin it).

    Returns:
        Seconds to wait, or None when no usable header was sent.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return _seconds_until_date(raw, now)


def _count(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RateLimitHint:
    """The rate-limit state one response reported."""

    retry_after_s: float | None = None
    """From `retry-after-ms` or `Retry-After`."""
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests_s: float | None = None
    """Seconds until the request budget is full again."""
    reset_tokens_s: float | None = None
    """Seconds until the token budget is full again."""

    def pause_s(self, *, rejected: bool) -> float | None:
        """How long every sender of this model should hold off, or None for no pause.

        Args:
            rejected: True for a 429/503 (the server refused the call), False for an answer.

        Returns:
            Seconds: `Retry-After` first on a refusal, else the reset of each exhausted budget;
            a refusal that says nothing about what is left waits for the latest reset it names.
        """
        if rejected and self.retry_after_s is not None:
            return self.retry_after_s
        waits = []
        if self.remaining_requests is not None and self.remaining_requests <= 0 and self.reset_requests_s is not None:
            waits.append(self.reset_requests_s)
        if self.remaining_tokens is not None and self.remaining_tokens <= 0 and self.reset_tokens_s is not None:
            waits.append(self.reset_tokens_s)
        if rejected and not waits and self.remaining_requests is None and self.remaining_tokens is None:
            waits = [s for s in (self.reset_requests_s, self.reset_tokens_s) if s is not None]
        return max(waits) if waits else None


def parse_rate_limit_headers(headers: Mapping[str, str], *, now: float | None = None) -> RateLimitHint:
    """Read every rate-limit header a response carries.

    Args:
        headers: Response headers (httpx's are case-insensitive; a plain dict is lower-cased here).
        now: The current Unix time, for dates; defaults to the clock.

    Returns:
        The hint; fields the server did not send are None.
    """
    if isinstance(headers, dict):
        headers = {key.lower(): value for key, value in headers.items()}
    reset_requests = headers.get("x-ratelimit-reset-requests")
    reset_tokens = headers.get("x-ratelimit-reset-tokens")
    return RateLimitHint(
        retry_after_s=retry_after_s(headers, now=now),
        remaining_requests=_count(headers.get(REMAINING_REQUESTS)),
        remaining_tokens=_count(headers.get(REMAINING_TOKENS)),
        reset_requests_s=parse_duration(reset_requests, now=now) if reset_requests is not None else None,
        reset_tokens_s=parse_duration(reset_tokens, now=now) if reset_tokens is not None else None,
    )


def budget_exhausted(headers: Mapping[str, str]) -> bool:
    """A cheap check on every answer: did the server say a request or token budget is used up?"""
    return headers.get(REMAINING_REQUESTS) == "0" or headers.get(REMAINING_TOKENS) == "0"
