"""The schema. Tables are created only by Alembic migrations (`turnout db upgrade`).

Unique keys make every write an idempotent upsert (DESIGN.md section 3):
runs `(cycle, model)`, completions `(run, case, repetition)`, scores `(completion, scorer spec)`,
scheduled cycles `(watch, scheduled_for)`. Times are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

State = Literal["queued", "running", "finished", "failed", "cancelled"]
STATES: tuple[State, ...] = ("queued", "running", "finished", "failed", "cancelled")
FINAL_STATES: frozenset[str] = frozenset({"finished", "failed", "cancelled"})
Trigger = Literal["schedule", "manual", "cli"]
Role = Literal["production", "candidate"]


# Named constraints keep migrations identical on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, in UTC, as every table stores it."""
    return datetime.now(UTC)


def _json(nullable: bool = False) -> Any:
    return Field(default=None if nullable else {}, sa_column=sa.Column(sa.JSON, nullable=nullable))


def _text(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.Text, nullable=nullable))


class GoldenSetRow(SQLModel, table=True):
    """A named golden set; its content lives in versions."""

    __tablename__ = "golden_set"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    privacy: str = Field(max_length=16)
    source: str | None = Field(default=None, max_length=1000)
    """Where the cases came from (a file path, or `inline`)."""
    current_version_id: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = Field(default=None)


class GoldenSetVersionRow(SQLModel, table=True):
    """One content of a golden set, named by its hash. Never edited: new content, new version."""

    __tablename__ = "golden_set_version"
    __table_args__ = (sa.UniqueConstraint("golden_set_id", "content_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    golden_set_id: int = Field(foreign_key="golden_set.id", index=True)
    content_hash: str = Field(max_length=64)
    privacy: str = Field(max_length=16)
    n_cases: int
    created_at: datetime = Field(default_factory=utcnow)
    used_at: datetime | None = Field(default=None)
    """When a cycle first used this version; from then on it is evidence and must not change."""


class CaseRow(SQLModel, table=True):
    """A case of one golden-set version, with its own content hash for pairing across versions."""

    __tablename__ = "golden_case"
    __table_args__ = (sa.UniqueConstraint("version_id", "case_key"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="golden_set_version.id", index=True)
    position: int
    case_key: str = Field(max_length=200)
    """The case's `id` in its golden set."""
    content_hash: str = Field(max_length=64, index=True)
    data: dict[str, Any] = _json()
    tags: list[str] = Field(default=[], sa_column=sa.Column(sa.JSON, nullable=False))


class ModelRow(SQLModel, table=True):
    """A model endpoint as declared; `spec` is the full declaration (no secrets: keys stay in env)."""

    __tablename__ = "model"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    kind: str = Field(max_length=16)
    hosting: str = Field(max_length=16)
    residency: str | None = Field(default=None, max_length=64)
    spec: dict[str, Any] = _json()
    spec_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = Field(default=None)


class WatchRow(SQLModel, table=True):
    """A watch (suite): golden set + production + candidates + scorers + schedule + policy."""

    __tablename__ = "watch"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    golden_set_id: int = Field(foreign_key="golden_set.id", index=True)
    production_model_id: int = Field(foreign_key="model.id", index=True)
    schedule: str | None = Field(default=None, max_length=100)
    timezone: str = Field(default="UTC", max_length=64)
    paused: bool = False
    team: str | None = Field(default=None, max_length=200)
    spec: dict[str, Any] = _json()
    spec_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = Field(default=None)


class CycleRow(SQLModel, table=True):
    """One firing of a watch. `recipe` is the watch as it was (scorers, template, policy)."""

    __tablename__ = "cycle"
    __table_args__ = (sa.UniqueConstraint("watch_id", "scheduled_for"),
                      sa.Index("ix_cycle_watch_id_id", "watch_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    watch_id: int = Field(foreign_key="watch.id", index=True)
    golden_set_version_id: int = Field(foreign_key="golden_set_version.id", index=True)
    trigger: str = Field(max_length=16)
    state: str = Field(default="queued", max_length=16, index=True)
    reason: str | None = _text()
    failure_kind: str | None = Field(default=None, max_length=32)
    """Why it failed or was cancelled, as an `evals.results.FailureKind`; `reason` is the message."""
    scheduled_for: datetime | None = Field(default=None)
    """The schedule slot (unique per watch); None for manual and CLI cycles."""
    recipe: dict[str, Any] = _json()
    step: str = Field(default="replay", max_length=16)
    """Where the cycle is in the pipeline: `replay`, `score`, `analyze`, `done`."""
    step_enqueued_at: datetime | None = Field(default=None)
    """When the current step was last handed to the queue; the reconciler re-enqueues silent steps."""
    step_lease_owner: str | None = Field(default=None, max_length=200)
    """The delivery running the current step (scoring or analysis); only the holder runs it."""
    step_lease_expires_at: datetime | None = Field(default=None)
    """The step lease ends here unless the holder's heartbeat renews it."""
    step_failures: int = 0
    """Times the current step raised something other than a database outage; N of them fail the cycle."""
    cost_usd: float = 0.0
    """What the cycle spent: its runs' completions plus its judge calls (`judge_cost_usd`)."""
    judge_cost_usd: float = 0.0
    """What the judge calls of the cycle's scoring cost (re-scores included), added as each batch is stored."""
    primary_scorer_hash: str | None = Field(default=None, max_length=64)
    """SHA-256 of the recipe's primary scorer key: how the time series find its `run_metric` rows."""
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = Field(default=None)
    finished_at: datetime | None = Field(default=None)


class RunRow(SQLModel, table=True):
    """One model replaying one golden-set version in one cycle."""

    __tablename__ = "run"
    __table_args__ = (sa.UniqueConstraint("cycle_id", "model_id"),
                      sa.Index("ix_run_model_id_cycle_id", "model_id", "cycle_id"))

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    role: str = Field(max_length=16)
    state: str = Field(default="queued", max_length=16, index=True)
    reason: str | None = _text()
    failure_kind: str | None = Field(default=None, max_length=32)
    """Why it failed or was cancelled, as an `evals.results.FailureKind`; `reason` is the message."""
    model_spec: dict[str, Any] = _json()
    """The model's declaration when the run was made: its params are part of the recipe."""
    repeat: int = 1
    n_total: int = 0
    """Completions expected: cases x repetitions."""
    n_done: int = 0
    n_errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_p50_ms: float | None = None
    """Median latency of the answered completions; stored by the analysis step."""
    latency_p95_ms: float | None = None
    """95th percentile latency, likewise."""
    ttft_p95_ms: float | None = None
    """95th percentile time to first token of the streamed completions, likewise."""
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = Field(default=None)
    finished_at: datetime | None = Field(default=None)
    heartbeat_at: datetime | None = Field(default=None)
    enqueued_at: datetime | None = Field(default=None)
    """When a replay task for this run was last sent to the queue."""
    enqueue_count: int = 0
    """Replay tasks sent since a worker last took the run's lease; the reconciler waits longer after each."""
    lease_owner: str | None = Field(default=None, max_length=200)
    """The worker replaying this run; only the lease holder sends requests."""
    lease_expires_at: datetime | None = Field(default=None)
    """The lease ends here unless the holder's heartbeat renews it."""


class CompletionRow(SQLModel, table=True):
    """A model's final answer (or final error) for one case and repetition of a run."""

    __tablename__ = "completion"
    __table_args__ = (sa.UniqueConstraint("run_id", "golden_case_id", "repetition"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    golden_case_id: int = Field(foreign_key="golden_case.id", index=True)
    """The `golden_case` row answered; the case's own id (`Completion.case_id`) is its `case_key`."""
    repetition: int = 0
    output: str | None = _text()
    error: str | None = _text()
    error_kind: str | None = Field(default=None, max_length=32)
    attempts: int = 1
    retried: list[str] = Field(default=[], sa_column=sa.Column(sa.JSON, nullable=False))
    """The error kind of each failed attempt before the final one."""
    latency_ms: float | None = None
    ttft_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    tokens_estimated: bool = False
    finish_reason: str | None = Field(default=None, max_length=64)
    fingerprint: str | None = Field(default=None, max_length=200)
    served_model: str | None = Field(default=None, max_length=200)
    cost_usd: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ScoreRow(SQLModel, table=True):
    """One scorer's judgement of one completion; the spec is stored so the score can be explained."""

    __tablename__ = "score"
    __table_args__ = (sa.UniqueConstraint("completion_id", "scorer_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    completion_id: int = Field(foreign_key="completion.id", index=True)
    scorer_hash: str = Field(max_length=64)
    """SHA-256 of `scorer_key`: keeps the unique index small whatever the options."""
    scorer_key: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    scorer_name: str = Field(max_length=100)
    scorer_version: str = Field(max_length=32)
    options: dict[str, Any] = _json()
    value: float | None = None
    explanation: str | None = _text()
    error: str | None = _text()
    details: dict[str, Any] = _json()
    retryable: bool = False
    """The scorer could not score for a reason that may pass (a judge call failed): scoring plans it again."""
    created_at: datetime = Field(default_factory=utcnow)


class RunMetricRow(SQLModel, table=True):
    """A run's mean score with its interval, overall (`segment` = "") and per tag, per scorer."""

    __tablename__ = "run_metric"
    __table_args__ = (sa.UniqueConstraint("run_id", "scorer_hash", "segment"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    scorer_hash: str = Field(max_length=64)
    scorer_key: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    segment: str = Field(default="", max_length=200)
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    n_clusters: int | None = None
    method: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class ComparisonRow(SQLModel, table=True):
    """A paired comparison of run B against run A (B − A) on one scorer: the whole `compare` document."""

    __tablename__ = "comparison"
    __table_args__ = (sa.UniqueConstraint("run_a_id", "run_b_id", "scorer_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    run_a_id: int = Field(foreign_key="run.id", index=True)
    run_b_id: int = Field(foreign_key="run.id", index=True)
    scorer_hash: str = Field(max_length=64)
    scorer_key: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    margin: float
    n_pairs: int = 0
    difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    noninferiority_p: float | None = None
    document: dict[str, Any] = _json()
    """Everything `turnout compare --json` prints, segments included."""
    created_at: datetime = Field(default_factory=utcnow)


class RecommendationRow(SQLModel, table=True):
    """The advisor's recommendation after one cycle, with the announcement hysteresis made of it.

    One row per successful cycle (failed cycles have none, so they neither extend nor break a
    streak); the history is kept. `inputs` is its recipe: comparison ids, policy and prices."""

    __tablename__ = "recommendation"

    id: int | None = Field(default=None, primary_key=True)
    watch_id: int = Field(foreign_key="watch.id", index=True)
    cycle_id: int = Field(foreign_key="cycle.id", sa_column_kwargs={"unique": True})
    cycle_verdict: str = Field(max_length=32)
    """This cycle's own verdict."""
    cycle_to: str | None = Field(default=None, max_length=200)
    """This cycle's switch target (a model name, as the document names it)."""
    verdict: str = Field(max_length=32)
    """The announced verdict after this cycle."""
    to: str | None = Field(default=None, max_length=200)
    """The announced switch target."""
    consecutive: int = 1
    """Cycles in the streak of (`cycle_verdict`, `cycle_to`) ending here."""
    changed: bool = False
    """True when this cycle changed the announced verdict: what an alert is sent for."""
    document: dict[str, Any] = _json()
    """The whole recommendation as `turnout advise --json` prints it."""
    inputs: dict[str, Any] = _json()
    """What it was computed from: `comparisons` (candidate -> comparison id), `policy`, `prices`, `scorer`."""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class JudgeCacheRow(SQLModel, table=True):
    """A judge model's verdict, keyed by judge model, prompt version and the texts judged."""

    __tablename__ = "judge_cache"

    key: str = Field(primary_key=True, max_length=64)
    value: dict[str, Any] = _json()
    created_at: datetime = Field(default_factory=utcnow)


class ApiTokenRow(SQLModel, table=True):
    """An API token: only its SHA-256 is stored; the token itself is shown once, when it is made."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=16)
    """`viewer`, `editor` or `admin`."""
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    prefix: str = Field(max_length=16)
    """The token's first characters, so people can tell their tokens apart in `turnout token list`."""
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = Field(default=None)
    revoked_at: datetime | None = Field(default=None)


class AuditRow(SQLModel, table=True):
    """One write through the API or the token commands: who, what, when."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    token_id: int | None = Field(default=None, foreign_key="api_token.id", index=True)
    """The token that made the write; None for the `turnout token` commands run against the database."""
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64)
    """What was done, e.g. `config.apply`, `watch.pause`, `cycle.trigger`, `token.create`."""
    target: str = Field(max_length=400)
    detail: dict[str, Any] = _json()
    created_at: datetime = Field(default_factory=utcnow, index=True)


# Imported last: these tables build on `utcnow` and `_json`/`_text` above, and register on the same metadata.
from service.storage import alert_tables as _alert_tables  # noqa: E402,F401
from service.storage import drift_tables as _drift_tables  # noqa: E402,F401
from service.storage import judge_drift_tables as _judge_drift_tables  # noqa: E402,F401
