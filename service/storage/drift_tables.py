"""The drift tables: a verdict per model and cycle, pinned reference runs, the distribution probe's
samples and tests, and report blobs.

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


class ProbeSampleRow(SQLModel, table=True):
    """One answer the distribution probe sampled for a run: not a completion (never scored, never in the
    quality statistics), kept so later cycles can test their samples against it."""

    __tablename__ = "drift_probe_sample"
    __table_args__ = (sa.UniqueConstraint("run_id", "golden_case_id", "sample"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    golden_case_id: int = Field(foreign_key="golden_case.id", index=True)
    sample: int
    """0..`probe.samples` - 1."""
    temperature: float
    """The temperature it was sampled at: only samples at the same one are compared."""
    output: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    error_kind: str | None = Field(default=None, max_length=32)
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    fingerprint: str | None = Field(default=None, max_length=200)
    cost_usd: float | None = None
    """Counted in the run's cost (and so against the watch's budget)."""
    created_at: datetime = Field(default_factory=utcnow)


class ProbeTestRow(SQLModel, table=True):
    """The probe's two-sample test of one model's run in one cycle against its reference runs' samples."""

    __tablename__ = "drift_probe_test"
    __table_args__ = (sa.UniqueConstraint("cycle_id", "model_id"),)

    id: int | None = Field(default=None, primary_key=True)
    watch_id: int = Field(foreign_key="watch.id", index=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    reference_run_ids: list[int] = Field(default=[], sa_column=sa.Column(sa.JSON, nullable=False))
    p_value: float
    statistic: float
    """Unbiased squared MMD."""
    n_current: int
    n_reference: int
    n_prompts: int
    permutations: int
    temperature: float
    rejected: bool
    """p_value below the watch's `drift.probe.alpha`: a `drifted` reason."""
    created_at: datetime = Field(default_factory=utcnow)


class BlobRow(SQLModel, table=True):
    """A stored blob (an Evidently snapshot) when blobs live in the database."""

    __tablename__ = "blob"

    key: str = Field(primary_key=True, max_length=200)
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
