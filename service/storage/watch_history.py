"""A watch over time, as the dashboard charts it: scores with intervals, latency and cost per cycle,
the recommendations made, and the drift checks with their fingerprint changes.

Each read is a few queries over whole cycles (never per completion): charts read the points
stored when a cycle was analysed, never the completions behind them.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func
from sqlmodel import Session, col, select

from service.storage.drift_tables import DriftRow
from service.storage.listing import live_watch
from service.storage.public import IsoDatetime, RecommendationPublic
from service.storage.runs import recipe
from service.storage.tables import CycleRow, ModelRow, RecommendationRow, RunMetricRow, RunRow


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class RunPointPublic(_Public):
    """One run of a cycle: its primary score on the segment asked for, latency and cost."""

    run_id: int
    model: str
    role: str
    state: str
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    cost_usd: float


class CyclePointPublic(_Public):
    """One finished cycle of the watch."""

    cycle_id: int
    created_at: IsoDatetime
    primary_scorer: str
    cost_usd: float
    runs: list[RunPointPublic]


class WatchHistoryPublic(_Public):
    """The watch's latest finished cycles, oldest first, on one segment (`""`: every case)."""

    watch: str
    segment: str
    segments: list[str]
    """The segments the latest cycle measured, for a picker."""
    cycles: list[CyclePointPublic]


class DriftPointPublic(_Public):
    """One model's drift check in one cycle."""

    cycle_id: int
    model: str
    verdict: str
    fingerprint_changed: bool
    score_change: float | None
    output_change_rate: float | None
    drift_share: float | None
    report_stored: bool
    created_at: IsoDatetime


def watch_history(session: Session, *, watch_name: str, limit: int = 30, segment: str = "") -> WatchHistoryPublic:
    """The last *limit* finished cycles of the watch with each run's primary score on *segment*.

    Raises:
        NotFound: no such watch.
    """
    watch = live_watch(session, name=watch_name)
    cycles = list(session.exec(select(CycleRow).where(CycleRow.watch_id == watch.id, CycleRow.state == "finished")
                               .order_by(col(CycleRow.id).desc()).limit(limit)).all())
    cycles.reverse()
    ids = [cycle.id for cycle in cycles]
    runs = session.exec(select(RunRow, ModelRow.name).join(ModelRow, col(ModelRow.id) == RunRow.model_id)
                        .where(col(RunRow.cycle_id).in_(ids)).order_by(col(RunRow.id))).all() if ids else []
    run_ids = [run.id for run, _ in runs]
    metrics: dict[tuple[int, str], RunMetricRow] = {}
    segments: set[str] = set()
    latest_runs = {run.id for run, _ in runs if cycles and run.cycle_id == cycles[-1].id}
    if run_ids:
        for metric in session.exec(select(RunMetricRow).where(col(RunMetricRow.run_id).in_(run_ids))).all():
            if metric.segment == segment:
                metrics[(metric.run_id, metric.scorer_key)] = metric
            if metric.run_id in latest_runs and metric.segment:
                segments.add(metric.segment)
    points = []
    for cycle in cycles:
        key = recipe(cycle).primary.key
        run_points = []
        for run, name in runs:
            if run.cycle_id != cycle.id:
                continue
            found = metrics.get((run.id or 0, key))
            run_points.append(RunPointPublic(
                run_id=run.id or 0, model=name, role=run.role, state=run.state,
                mean=found.mean if found else None, ci_low=found.ci_low if found else None,
                ci_high=found.ci_high if found else None, n=found.n if found else 0,
                latency_p50_ms=run.latency_p50_ms, latency_p95_ms=run.latency_p95_ms, cost_usd=run.cost_usd))
        points.append(CyclePointPublic(cycle_id=cycle.id or 0, created_at=cycle.created_at, primary_scorer=key,
                                       cost_usd=cycle.cost_usd, runs=run_points))
    return WatchHistoryPublic(watch=watch_name, segment=segment, segments=sorted(segments), cycles=points)


def cost_since(session: Session, *, watch_name: str, since: datetime) -> float:
    """What the watch's cycles created since *since* cost (replays and judges), in USD."""
    watch = live_watch(session, name=watch_name)
    total = session.exec(select(func.sum(CycleRow.cost_usd)).where(CycleRow.watch_id == watch.id,
                                                                    col(CycleRow.created_at) >= since)).one()
    return float(total or 0.0)


def recommendation_history(session: Session, *, watch_name: str, limit: int = 20) -> list[RecommendationPublic]:
    """The watch's recommendations, newest first."""
    watch = live_watch(session, name=watch_name)
    rows = session.exec(select(RecommendationRow).where(RecommendationRow.watch_id == watch.id)
                        .order_by(col(RecommendationRow.cycle_id).desc()).limit(limit)).all()
    return [RecommendationPublic(watch=watch_name, cycle_id=row.cycle_id, verdict=row.verdict, to=row.to,
                                 cycle_verdict=row.cycle_verdict, cycle_to=row.cycle_to, consecutive=row.consecutive,
                                 changed=row.changed, document=row.document, inputs=row.inputs,
                                 updated_at=row.updated_at) for row in rows]


def drift_history(session: Session, *, watch_name: str, limit: int = 60) -> list[DriftPointPublic]:
    """The watch's drift checks, oldest first: the fingerprint timeline."""
    watch = live_watch(session, name=watch_name)
    rows = session.exec(select(DriftRow, ModelRow.name).join(ModelRow, col(ModelRow.id) == DriftRow.model_id)
                        .where(DriftRow.watch_id == watch.id).order_by(col(DriftRow.cycle_id).desc(),
                                                                       col(DriftRow.id)).limit(limit)).all()
    return [DriftPointPublic(cycle_id=row.cycle_id, model=name, verdict=row.verdict,
                             fingerprint_changed=row.fingerprint_changed, score_change=row.score_change,
                             output_change_rate=row.output_change_rate, drift_share=row.drift_share,
                             report_stored=row.report_key is not None, created_at=row.created_at)
            for row, name in reversed(rows)]
