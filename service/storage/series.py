"""Time series of a watch: per cycle and model, the primary score with its interval (overall or on one
segment), latency percentiles, tokens and cost — read from what the analysis step stored, never recomputed."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from service.storage.listing import live_watch
from service.storage.public import FrozenPublic, IsoDatetime
from service.storage.tables import CycleRow, ModelRow, RunMetricRow, RunRow

SERIES_LIMIT = 5000
"""The most points one series answers, whatever `limit` asks for (two years of daily cycles of a few models)."""


class MetricPointPublic(FrozenPublic):
    """One model's run in one cycle of the watch."""

    cycle_id: int
    run_id: int
    at: IsoDatetime
    """When the cycle started (when it was made, for one that never started)."""
    finished_at: IsoDatetime | None
    """When the cycle finished."""
    model: str
    role: str
    """`production` or `candidate` in that cycle."""
    segment: str | None
    """The tag the interval is on; None for the whole run."""
    score: float | None
    """Mean of the primary scorer on the segment; None when the segment had no scored case."""
    ci_low: float | None
    ci_high: float | None
    n: int
    """Cases behind the interval (0 when the run had none on the segment)."""
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    ttft_p95_ms: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    """What the run's completions cost (judge calls are counted on the cycle)."""


class MetricSeriesPublic(FrozenPublic):
    """A watch's finished runs as points, oldest first: the latest `limit` in the range asked for."""

    watch: str
    model: str | None
    segment: str | None
    since: IsoDatetime | None
    until: IsoDatetime | None
    points: list[MetricPointPublic]
    truncated: bool
    """True when the range held more points than `limit`: the oldest were left out."""


def metric_series(session: Session, watch: str, *, model: str | None = None, segment: str | None = None,
                  since: datetime | None = None, until: datetime | None = None,
                  limit: int = 500) -> MetricSeriesPublic:
    """The points of *watch*'s finished runs (one per cycle and model), oldest first.

    Args:
        session: The open session.
        watch: The watch's name.
        model: Only this model's runs (production or candidate).
        segment: The tag whose interval `score`/`ci_*`/`n` are; None for the whole run.
        since: Only cycles started at or after this time.
        until: Only cycles started before this time.
        limit: At most this many points (the latest ones; at most `SERIES_LIMIT`).

    Raises:
        NotFound: no such watch.
    """
    watch_row = live_watch(session, name=watch)
    since, until = as_utc(since), as_utc(until)
    limit = max(1, min(limit, SERIES_LIMIT))
    at = sa.func.coalesce(col(CycleRow.started_at), col(CycleRow.created_at))
    query = (
        sa.select(col(CycleRow.id), col(RunRow.id), at, col(CycleRow.finished_at), col(ModelRow.name),
                  col(RunRow.role), col(RunMetricRow.mean), col(RunMetricRow.ci_low), col(RunMetricRow.ci_high),
                  col(RunMetricRow.n),
                  col(RunRow.latency_p50_ms), col(RunRow.latency_p95_ms), col(RunRow.ttft_p95_ms),
                  col(RunRow.input_tokens), col(RunRow.output_tokens), col(RunRow.cost_usd))
        .select_from(RunRow)
        .join(CycleRow, col(CycleRow.id) == RunRow.cycle_id)
        .join(ModelRow, col(ModelRow.id) == RunRow.model_id)
        .outerjoin(RunMetricRow, sa.and_(col(RunMetricRow.run_id) == RunRow.id,
                                         col(RunMetricRow.scorer_hash) == CycleRow.primary_scorer_hash,
                                         col(RunMetricRow.segment) == (segment or "")))
        .where(col(CycleRow.watch_id) == watch_row.id, col(RunRow.state) == "finished")
        .order_by(col(CycleRow.id).desc(), col(RunRow.id).desc())
        .limit(limit + 1)
    )
    if model is not None:
        query = query.where(col(ModelRow.name) == model)
    if since is not None:
        query = query.where(at >= since)
    if until is not None:
        query = query.where(at < until)
    rows = session.execute(query).all()
    truncated = len(rows) > limit
    rows = rows[:limit]
    points = [MetricPointPublic(cycle_id=cycle_id, run_id=run_id, at=started, finished_at=finished, model=name,
                                role=role, segment=segment, score=mean, ci_low=low, ci_high=high, n=n or 0,
                                latency_p50_ms=p50, latency_p95_ms=p95, ttft_p95_ms=ttft, input_tokens=tokens_in,
                                output_tokens=tokens_out, cost_usd=cost)
              for (cycle_id, run_id, started, finished, name, role, mean, low, high, n, p50, p95, ttft, tokens_in,
                   tokens_out, cost) in reversed(rows)]
    return MetricSeriesPublic(watch=watch_row.name, model=model, segment=segment, since=since, until=until,
                              points=points, truncated=truncated)


def as_utc(value: datetime | None) -> datetime | None:
    """*value* in UTC (a naive time is taken as UTC), as every table stores times."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
