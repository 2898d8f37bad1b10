"""Every watch at a glance: its announced verdict and main reason, its last cycle, the primary score of its
production model over the last cycles, and what it spent this month — for all watches in a few statements
(one per kind of fact, whatever the number of watches), read from what the pipeline stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from service.storage import catalog
from service.storage.listing import WatchPublic, cycle_statuses, watch_public
from service.storage.public import CycleStatusPublic, FrozenPublic, IsoDatetime
from service.storage.series import as_utc
from service.storage.tables import CycleRow, RecommendationRow, RunMetricRow, RunRow, WatchRow

MAX_POINTS = 200
"""The most sparkline points a watch answers, whatever `points` asks for."""


class VerdictPublic(FrozenPublic):
    """The watch's latest recommendation, as the overview shows it."""

    cycle_id: int
    verdict: str
    """The announced verdict: `stay`, `switch_advisable` or `insufficient_evidence`."""
    to: str | None
    """The announced switch target."""
    main_reason: str | None
    """The recommendation's first reason."""
    updated_at: IsoDatetime


class WatchOverviewPublic(FrozenPublic):
    """One watch of the overview."""

    watch: WatchPublic
    recommendation: VerdictPublic | None
    """None until a cycle of the watch has been advised."""
    last_cycle: CycleStatusPublic | None
    """The newest cycle, whatever its state; None before the first."""
    scores: list[float | None]
    """The production model's primary score in its latest finished runs, oldest first (None: nothing scored)."""
    cost_since_usd: float
    """What the watch's cycles started since `since` spent: their runs' completions and their judge calls."""


class OverviewPublic(FrozenPublic):
    """Every watch that is not deleted, by name."""

    since: IsoDatetime
    watches: list[WatchOverviewPublic]


def watches_overview(session: Session, *, since: datetime, points: int = 20) -> OverviewPublic:
    """Every live watch with its verdict, last cycle, production score of the last *points* runs, and cost.

    Args:
        session: The open session.
        since: Costs are summed over the cycles started at or after this time (e.g. the month's first day).
        points: Scores per watch (at most `MAX_POINTS`).
    """
    since_utc = as_utc(since)
    assert since_utc is not None
    rows = catalog.list_watches(session)
    ids = [row.id or 0 for row in rows]
    if not ids:
        return OverviewPublic(since=since_utc, watches=[])
    verdicts = _verdicts(session, ids)
    last = _last_cycles(session, ids)
    scores = _scores(session, ids, points=max(1, min(points, MAX_POINTS)))
    costs = _costs(session, ids, since=since_utc)
    return OverviewPublic(
        since=since_utc,
        watches=[
            WatchOverviewPublic(
                watch=watch_public(row),
                recommendation=verdicts.get(row.id or 0),
                last_cycle=last.get(row.id or 0),
                scores=scores.get(row.id or 0, []),
                cost_since_usd=costs.get(row.id or 0, 0.0),
            )
            for row in rows
        ],
    )


def _verdicts(session: Session, watch_ids: list[int]) -> dict[int, VerdictPublic]:
    """Each watch's latest recommendation (the one of its newest advised cycle)."""
    latest = (
        sa.select(col(RecommendationRow.watch_id), sa.func.max(col(RecommendationRow.cycle_id)).label("cycle_id"))
        .where(col(RecommendationRow.watch_id).in_(watch_ids))
        .group_by(col(RecommendationRow.watch_id))
        .subquery()
    )
    found = session.exec(
        select(RecommendationRow)
        .join(latest, col(RecommendationRow.cycle_id) == latest.c.cycle_id)
        .options(defer(cast(Any, RecommendationRow.inputs)))
    ).all()
    return {
        row.watch_id: VerdictPublic(
            cycle_id=row.cycle_id,
            verdict=row.verdict,
            to=row.to,
            main_reason=_first_reason(row.document),
            updated_at=row.updated_at,
        )
        for row in found
    }


def _first_reason(document: dict[str, Any]) -> str | None:
    reasons = document.get("reasons") or []
    return str(reasons[0]) if reasons else None


def _last_cycles(session: Session, watch_ids: list[int]) -> dict[int, CycleStatusPublic]:
    """Each watch's newest cycle, with its runs' progress."""
    newest = (
        sa.select(sa.func.max(col(CycleRow.id)))
        .where(col(CycleRow.watch_id).in_(watch_ids))
        .group_by(col(CycleRow.watch_id))
    )
    cycles = list(
        session.exec(
            select(CycleRow).options(defer(cast(Any, CycleRow.recipe))).where(col(CycleRow.id).in_(newest))
        ).all()
    )
    by_id = {cycle.id: cycle.watch_id for cycle in cycles}
    return {by_id[status.cycle_id]: status for status in cycle_statuses(session, cycles)}


def _scores(session: Session, watch_ids: list[int], *, points: int) -> dict[int, list[float | None]]:
    """The primary score (overall) of each watch's production model in its latest *points* finished runs.

    Two statements: the first finished cycle each watch's sparkline starts at (its `points`-th newest
    production run, read backwards on the run index), then the runs from there with their scores — so
    only about `points` runs per watch are read, however long its history."""
    nth = (
        sa.select(col(RunRow.cycle_id))
        .join(CycleRow, col(CycleRow.id) == RunRow.cycle_id)
        .where(
            col(CycleRow.watch_id) == WatchRow.id,
            col(RunRow.model_id) == WatchRow.production_model_id,
            col(RunRow.state) == "finished",
        )
        .order_by(col(RunRow.cycle_id).desc())
        .offset(points - 1)
        .limit(1)
        .scalar_subquery()
    )
    starts = session.execute(
        sa.select(col(WatchRow.id), col(WatchRow.production_model_id), sa.func.coalesce(nth, 0)).where(
            col(WatchRow.id).in_(watch_ids)
        )
    ).all()
    query = (
        sa.select(col(CycleRow.watch_id), col(RunMetricRow.mean))
        .select_from(RunRow)
        .join(CycleRow, col(CycleRow.id) == RunRow.cycle_id)
        .join(
            WatchRow,
            sa.and_(col(WatchRow.id) == CycleRow.watch_id, col(WatchRow.production_model_id) == RunRow.model_id),
        )
        .outerjoin(
            RunMetricRow,
            sa.and_(
                col(RunMetricRow.run_id) == RunRow.id,
                col(RunMetricRow.scorer_hash) == CycleRow.primary_scorer_hash,
                col(RunMetricRow.segment) == "",
            ),
        )
        .where(
            col(CycleRow.watch_id).in_(watch_ids),
            col(RunRow.state) == "finished",
            sa.or_(
                *(
                    # The watch too: watches sharing a production model each start at their own cycle.
                    sa.and_(
                        col(CycleRow.watch_id) == watch_id,
                        col(RunRow.model_id) == model_id,
                        col(RunRow.cycle_id) >= start,
                    )
                    for watch_id, model_id, start in starts
                )
            ),
        )
        .order_by(col(CycleRow.watch_id), col(RunRow.cycle_id))
    )
    scores: dict[int, list[float | None]] = {}
    for watch_id, score in session.execute(query).all():
        scores.setdefault(watch_id, []).append(score)
    return scores


def _costs(session: Session, watch_ids: list[int], *, since: datetime) -> dict[int, float]:
    """What each watch's cycles started since *since* spent so far: runs' completions plus judge calls."""
    started = sa.func.coalesce(col(CycleRow.started_at), col(CycleRow.created_at))
    runs = (
        sa.select(sa.func.coalesce(sa.func.sum(col(RunRow.cost_usd)), 0.0))
        .where(col(RunRow.cycle_id) == CycleRow.id)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(col(CycleRow.watch_id), sa.func.sum(runs + col(CycleRow.judge_cost_usd)))
        .where(col(CycleRow.watch_id).in_(watch_ids), started >= since)
        .group_by(col(CycleRow.watch_id))
    ).all()
    return {watch_id: float(total or 0.0) for watch_id, total in rows}
