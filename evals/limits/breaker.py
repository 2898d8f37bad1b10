"""Why a replay stopped early, and the circuit breaker that stops a run failing case after case."""

from __future__ import annotations

from collections import Counter, deque

from evals.errors import TurnoutError
from evals.results import Completion, FailureKind


class ReplayStopped(TurnoutError):
    """Replay stopped sending before the last request; every completion it had was yielded first.

    `str(exc)` starts with `code`, so it reads well as a run's `reason`.
    """

    code = "stopped"
    kind: FailureKind = "stopped"
    """Stored as the run's failure kind."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"{self.code}: {detail}")


class CircuitOpen(ReplayStopped):
    """Too many of the last completions failed: the endpoint is down or rejects every call."""

    code = "circuit open"
    kind: FailureKind = "circuit_open"


class BudgetExceeded(ReplayStopped):
    """The next request would take the spend past the budget."""

    code = "budget"
    kind: FailureKind = "budget"


class CircuitBreaker:
    """Opens when the error rate over the last `window` final completions reaches `max_error_rate`.

    Args:
        window: How many recent completions are judged.
        min_completions: Never open before this many completions (a few early failures are noise).
        max_error_rate: The failing share that opens the circuit.
    """

    def __init__(self, *, window: int = 50, min_completions: int = 20, max_error_rate: float = 0.5) -> None:
        if not 1 <= min_completions <= window:
            raise ValueError("need 1 <= min_completions <= window")
        if not 0 < max_error_rate <= 1:
            raise ValueError("max_error_rate must be in (0, 1]")
        self.window = window
        self.min_completions = min_completions
        self.max_error_rate = max_error_rate
        self._recent: deque[Completion | None] = deque(maxlen=window)  # None stands for a success
        self._errors = 0

    def record(self, completion: Completion) -> str | None:
        """Count one final completion; returns why the circuit opened, or None while it holds."""
        failed = completion.error is not None
        if len(self._recent) == self.window and self._recent[0] is not None:
            self._errors -= 1
        self._recent.append(completion if failed else None)
        self._errors += failed
        seen = len(self._recent)
        if seen < self.min_completions or self._errors < self.max_error_rate * seen:
            return None
        failures = [c for c in self._recent if c is not None]
        kind, count = Counter(c.error_kind or "other" for c in failures).most_common(1)[0]
        example = next(c.error for c in reversed(failures) if (c.error_kind or "other") == kind)
        return (f"{self._errors} of the last {seen} cases failed ({self._errors / seen:.0%}, threshold "
                f"{self.max_error_rate:.0%}); most often {kind} ({count}), e.g. {example}")
