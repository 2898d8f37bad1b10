"""The drift tables: a verdict per model and cycle, pinned reference runs, and report blobs.

Registered on SQLModel's metadata by `service.storage.tables`, which imports this module last.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.storage.tables import utcnow


class DriftRow(SQLModel, table=True):
    """One model's drift check in one cycle: the verdict, its reasons, and the scalars charts read."""

    __tablename__ = "drift"
    __table_args__ = (sa.UniqueConstraint("cycle_id", "model_id"),)

    id: int | None = Field(default=None, primary_key=True)
    watch_id: int = Field(foreign_key="watch.id", index=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    verdict: str = Field(max_length=16)
    """`stable` or `drifted`."""
    reasons: list[dict[str, Any]] = Field(default=[], sa_column=sa.Column(sa.JSON, nullable=False))
    """`[{kind, message}]`, as `evals.drift.verdict.DriftReason`."""
    reference_run_ids: list[int] = Field(default=[], sa_column=sa.Column(sa.JSON, nullable=False))
    score_change: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    output_change_rate: float | None = None
    expected_change_rate: float | None = None
    fingerprint_changed: bool = False
    drift_share: float | None = None
    """Share of the Evidently columns that drifted; None without a report."""
    drifted_columns: list[str] = Field(default=[], sa_column=sa.Column(sa.JSON, nullable=False))
    report_key: str | None = Field(default=None, max_length=200)
    """The Evidently snapshot's blob key; None once pruned (the scalars stay) or when none was built."""
    document: dict[str, Any] = Field(default={}, sa_column=sa.Column(sa.JSON, nullable=False))
    """The whole check as `turnout drift --json` prints it for the model (columns' tests included)."""
    created_at: datetime = Field(default_factory=utcnow, index=True)


class DriftPinRow(SQLModel, table=True):
    """A pinned baseline: the run a watch's model is compared with instead of its last runs."""

    __tablename__ = "drift_pin"
    __table_args__ = (sa.UniqueConstraint("watch_id", "model_id"),)

    id: int | None = Field(default=None, primary_key=True)
    watch_id: int = Field(foreign_key="watch.id", index=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class BlobRow(SQLModel, table=True):
    """A stored blob (an Evidently snapshot) when blobs live in the database."""

    __tablename__ = "blob"

    key: str = Field(primary_key=True, max_length=200)
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
