"""What replay sends and what replay and scoring produce: requests, completions and scores, as plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from evals.cases import Case

ErrorKind = Literal["rate_limit", "server", "timeout", "connection", "bad_request", "bad_response",
                    "context_length", "other"]
"""How a failed call failed; the first four are retryable. `context_length`: the case's prompt does not
fit the model's context window, which no retry changes (a per-case failure, not the run's)."""

RETRYABLE: frozenset[str] = frozenset({"rate_limit", "server", "timeout", "connection"})

FailureKind = Literal["budget", "circuit_open", "endpoint_down", "all_failed", "provider_unavailable",
                      "step_failed", "stopped", "cancelled", "runs_failed"]
"""Why a run or a cycle ended `failed` (or `cancelled`), as a value stored beside the message, so alerts
and readers route on it instead of matching text: `budget` (the next request would pass `budget_usd`),
`circuit_open` (most recent calls failed), `endpoint_down` (no case reached the endpoint), `all_failed`
(every case failed otherwise), `provider_unavailable` (the model cannot be called from this worker),
`step_failed` (a pipeline step kept failing), `stopped` (replay stopped for another reason),
`cancelled` (a user cancelled), `runs_failed` (a cycle whose runs failed for different reasons)."""


@dataclass(frozen=True)
class Request:
    """One call to make: a case (and repetition) turned into chat messages, with the case beside them."""

    case_id: str
    """The case's id in its golden set."""
    repetition: int
    """0 for the first answer; 1.. for `repeat: k` sampling."""
    messages: list[dict[str, str]]
    """The chat messages to send, as `{"role": ..., "content": ...}` dicts."""
    case: Case | None = None
    """The case itself (expected answer, tags), for providers that answer from it rather than from
    `messages` (a simulated model); None for calls not made from a case (a judge's question)."""


@dataclass(frozen=True)
class Completion:
    """One model answer to one case (or the error that took its place)."""

    case_id: str
    """The case's id in its golden set."""
    repetition: int = 0
    """0 for the first answer; 1.. for `repeat: k` sampling."""
    output: str | None = None
    """The answer text; None when the call failed."""
    error: str | None = None
    """Why the call failed, after all retries; None on success."""
    error_kind: ErrorKind | None = None
    """The class of the final error."""
    attempts: int = 1
    """How many calls were made for this case, retries included."""
    retried: tuple[ErrorKind, ...] = ()
    """The error kind of each failed attempt before the last one (e.g. `("rate_limit", "server")`)."""
    latency_ms: float | None = None
    """Time from sending the successful request to its last byte."""
    ttft_ms: float | None = None
    """Time to the first content token (streaming only)."""
    input_tokens: int | None = None
    output_tokens: int | None = None
    tokens_estimated: bool = False
    """True when the server sent no usage and the counts were estimated from the text."""
    finish_reason: str | None = None
    fingerprint: str | None = None
    """The provider's `system_fingerprint`, which changes on silent model updates."""
    cost_usd: float | None = None
    served_model: str | None = None
    """The model name the server says answered."""

    @property
    def ok(self) -> bool:
        """True when the model answered."""
        return self.error is None and self.output is not None


@dataclass(frozen=True)
class Score:
    """A scorer's judgement of one completion. `value is None` means it could not score."""

    value: float | None
    """Usually in [0, 1]; None when the scorer could not score (see `error`)."""
    explanation: str | None = None
    """Why, in words, when the scorer has something to say."""
    error: str | None = None
    """Why there is no value."""
    details: dict[str, Any] = field(default_factory=dict)
    """Scorer-specific extras (e.g. each assertion's outcome)."""
    retryable: bool = False
    """True when asking again may give another score: a judge call failed in a way that passes
    (rate limit, server error, timeout, connection). Scoring plans such a score again."""

    @classmethod
    def unscorable(cls, reason: str) -> Score:
        """A score that records why the completion could not be scored."""
        return cls(value=None, error=reason)
