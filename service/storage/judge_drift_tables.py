"""The judge-drift tables: pinned reference verdicts of a watch's judge, and each re-judging's kappa.

Registered on SQLModel's metadata by `service.storage.tables`, which imports this module last.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.storage.tables import utcnow


class JudgeReferenceRow(SQLModel, table=True):
    """A pinned set of judge verdicts: the first cycle's own on a fixed sample, or a person's labels."""

    __tablename__ = "judge_reference"
    __table_args__ = (sa.UniqueConstraint("watch_id", "scorer_hash", "source", "labels_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    watch_id: int = Field(foreign_key="watch.id", index=True)
    judge_model_id: int = Field(foreign_key="model.id", index=True)
    scorer_hash: str = Field(max_length=64)
    """SHA-256 of `scorer_key`."""
    scorer_key: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    """The judge scorer whose verdicts are pinned (name and options, prompt version included)."""
    source: str = Field(max_length=16)
    """`first_cycle` (the judge's own verdicts) or `labels` (`drift.judge_labels`)."""
    labels_hash: str = Field(default="", max_length=64)
    """SHA-256 of the labels as stored with the watch; "" for `first_cycle`. New labels, new set."""
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    """The cycle the set was pinned in."""
    verdicts: list[dict[str, Any]] = Field(default=[], sa_column=sa.Column(sa.JSON, nullable=False))
    """`[{case_id, content_hash, answer, production, value}]`, as `evals.drift.judge.PinnedVerdict`."""
    reference_kappa: float | None = None
    """The kappa the set is held to: 1 for the judge's own verdicts, the first judging's for labels."""
    created_at: datetime = Field(default_factory=utcnow)


class JudgeDriftRow(SQLModel, table=True):
    """One judging of a pinned set in one cycle: kappa with its interval, and the judge's verdict."""

    __tablename__ = "judge_drift"
    __table_args__ = (sa.UniqueConstraint("cycle_id", "reference_id"),)

    id: int | None = Field(default=None, primary_key=True)
    watch_id: int = Field(foreign_key="watch.id", index=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    reference_id: int = Field(foreign_key="judge_reference.id", index=True)
    judge_model_id: int = Field(foreign_key="model.id", index=True)
    kappa: float | None = None
    """Cohen's kappa against the pinned verdicts; None when the set was pinned from this cycle's own."""
    ci_low: float | None = None
    ci_high: float | None = None
    n_verdicts: int = 0
    """Verdicts compared (pinned ones whose call did not fail in passing)."""
    n_failed: int = 0
    verdict: str = Field(max_length=16)
    """`stable` or `drifted`."""
    reasons: list[dict[str, Any]] = Field(default=[], sa_column=sa.Column(sa.JSON, nullable=False))
    """`[{kind, message}]`, as the model checks' reasons."""
    document: dict[str, Any] = Field(default={}, sa_column=sa.Column(sa.JSON, nullable=False))
    """The judging as `turnout drift --json` prints it for the judge."""
    created_at: datetime = Field(default_factory=utcnow, index=True)
