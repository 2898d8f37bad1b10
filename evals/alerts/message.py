"""What an alert says, as stored in its outbox row, and when a new one is held back (cooldown)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, cast

AlertKind = Literal["verdict", "failing", "recovery", "drift", "test"]
"""`verdict`: the announced verdict changed; `failing`: a cycle or some of its runs failed; `recovery`:
a cycle finished after a failing one; `drift`: the production model drifted; `test`: `turnout alerts test`."""


@dataclass(frozen=True)
class FailedRun:
    """A run of the cycle that failed."""

    model: str
    """The model's name."""
    kind: str | None
    """Its `evals.results.FailureKind`."""
    reason: str | None
    """Why, for people."""


@dataclass(frozen=True)
class AlertPayload:
    """Everything one alert message shows; at most one per watch and cycle, the rest folded into it."""

    watch: str
    """The watch's name."""
    cycle_id: int | None
    """The cycle that caused it (None for a test message)."""
    kind: AlertKind
    """What happened first; other news of the same cycle is folded in (`failed_runs`, `recovered`)."""
    recommendation: dict[str, Any] | None = None
    """The announced recommendation (`turnout advise --json`) for verdict alerts."""
    failure_kind: str | None = None
    """The cycle's failure kind, when the cycle failed."""
    reason: str | None = None
    """The cycle's failure reason, for people."""
    failed_runs: tuple[FailedRun, ...] = ()
    """Runs of the cycle that failed."""
    recovered: bool = False
    """The watch's previous cycle was failing and this one finished."""
    drift: tuple[str, ...] = ()
    """What drifted, one line per model."""

    @property
    def subject(self) -> str:
        """What must change for an alert of the same kind to pass the cooldown: verdict and target,
        or failure kinds; the numbers change every cycle and are not a change."""
        if self.kind == "verdict" and self.recommendation is not None:
            return f"{self.recommendation.get('verdict')}:{self.recommendation.get('to')}"
        if self.kind == "failing":
            return ",".join(sorted({self.failure_kind or "", *(run.kind or "" for run in self.failed_runs)}))
        return self.kind

    def to_json(self) -> dict[str, Any]:
        """The payload as JSON data (the outbox row's `payload`)."""
        data = asdict(self)
        data["failed_runs"] = [asdict(run) for run in self.failed_runs]
        data["drift"] = list(self.drift)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertPayload:
        """The payload stored by `to_json`."""
        return cls(watch=str(data["watch"]), cycle_id=data.get("cycle_id"), kind=cast(AlertKind, data["kind"]),
                   recommendation=data.get("recommendation"), failure_kind=data.get("failure_kind"),
                   reason=data.get("reason"), recovered=bool(data.get("recovered")),
                   failed_runs=tuple(FailedRun(**run) for run in data.get("failed_runs", ())),
                   drift=tuple(data.get("drift", ())))


@dataclass(frozen=True)
class PastAlert:
    """The watch's latest earlier alert of one kind."""

    subject: str
    created_at: datetime
    sent: bool = field(default=True)
    """False for one that was itself held back (it does not start a cooldown)."""


def held_back(*, alert: AlertPayload, previous: PastAlert | None, now: datetime, cooldown_hours: float) -> bool:
    """True when *alert* repeats the watch's previous alert of its kind inside the cooldown.

    Args:
        alert: The new alert.
        previous: The watch's latest alert of the same kind, or None.
        now: The time the new alert is made.
        cooldown_hours: `policy.cooldown_hours`.

    Returns:
        Whether to hold the alert back: same subject (verdict and target, or failure kinds) and
        less than `cooldown_hours` since the previous one.
    """
    if previous is None or not previous.sent or previous.subject != alert.subject:
        return False
    return now - previous.created_at < timedelta(hours=cooldown_hours)
