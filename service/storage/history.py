"""A watch's recommendations and drift checks, current and past, as pages newest first.

`turnout advise` and `turnout drift` read one of each (`advice.recommendation`, `drift.drift_rows`); these
list them with an id cursor, and read a check's stored Evidently snapshot.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from service.storage.advice import recommendation_public
from service.storage.blobs import BlobStore
from service.storage.drift import drift_rows
from service.storage.drift_tables import DriftRow
from service.storage.listing import MAX_PAGE, live_watch
from service.storage.public import FrozenPublic, IsoDatetime, RecommendationPublic
from service.storage.runs import NotFound
from service.storage.tables import ModelRow, RecommendationRow


class RecommendationPagePublic(FrozenPublic):
    """A watch's recommendations, newest cycle first; `next_cursor` (a cycle id) fetches older ones."""

    watch: str
    recommendations: list[RecommendationPublic]
    next_cursor: int | None


class DriftCheckPublic(FrozenPublic):
    """One model's drift check in one cycle: the verdict, its reasons and the scalars charts read."""

    id: int
    cycle_id: int
    run_id: int
    model: str
    verdict: str
    """`stable` or `drifted`."""
    reasons: list[dict[str, Any]]
    """`[{kind, message}]`."""
    reference_run_ids: list[int]
    score_change: float | None
    ci_low: float | None
    ci_high: float | None
    output_change_rate: float | None
    expected_change_rate: float | None
    fingerprint_changed: bool
    drift_share: float | None
    drifted_columns: list[str]
    report_stored: bool
    """The Evidently snapshot is still stored (pruned after the watch's `keep_reports_days`)."""
    created_at: IsoDatetime


class DriftCyclePublic(FrozenPublic):
    """The drift checks of one cycle of a watch, with each check's whole document (`turnout drift --json`)."""

    watch: str
    cycle_id: int
    checks: list[DriftCheckPublic]
    documents: dict[str, dict[str, Any]]
    """Model name → the check as `turnout drift --json` prints it (columns' tests included)."""


class DriftPagePublic(FrozenPublic):
    """A watch's drift checks, newest first; `next_cursor` (a check id) fetches older ones."""

    watch: str
    checks: list[DriftCheckPublic]
    next_cursor: int | None


def recommendation_history(session: Session, watch: str, *, cursor: int | None = None,
                           limit: int = 50) -> RecommendationPagePublic:
    """*watch*'s recommendations, newest cycle first, from before cycle *cursor* (a previous `next_cursor`).

    Raises:
        NotFound: no such watch.
    """
    watch_row = live_watch(session, name=watch)
    limit = max(1, min(limit, MAX_PAGE))
    query = (select(RecommendationRow).where(RecommendationRow.watch_id == watch_row.id)
             .order_by(col(RecommendationRow.cycle_id).desc()).limit(limit + 1))
    if cursor is not None:
        query = query.where(col(RecommendationRow.cycle_id) < cursor)
    rows = list(session.exec(query).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return RecommendationPagePublic(watch=watch_row.name,
                                    recommendations=[recommendation_public(row, watch_row.name) for row in rows],
                                    next_cursor=rows[-1].cycle_id if more and rows else None)


def _check_public(row: DriftRow, model: str) -> DriftCheckPublic:
    return DriftCheckPublic(id=row.id or 0, cycle_id=row.cycle_id, run_id=row.run_id, model=model, verdict=row.verdict,
                            reasons=list(row.reasons), reference_run_ids=list(row.reference_run_ids),
                            score_change=row.score_change, ci_low=row.ci_low, ci_high=row.ci_high,
                            output_change_rate=row.output_change_rate, expected_change_rate=row.expected_change_rate,
                            fingerprint_changed=row.fingerprint_changed, drift_share=row.drift_share,
                            drifted_columns=list(row.drifted_columns), report_stored=row.report_key is not None,
                            created_at=row.created_at)


def drift_history(session: Session, watch: str, *, model: str | None = None, cursor: int | None = None,
                  limit: int = 50) -> DriftPagePublic:
    """*watch*'s drift checks (of *model* only, if given), newest first, with ids below *cursor*.

    Raises:
        NotFound: no such watch.
    """
    watch_row = live_watch(session, name=watch)
    limit = max(1, min(limit, MAX_PAGE))
    query = (select(DriftRow, ModelRow.name).join(ModelRow, col(ModelRow.id) == DriftRow.model_id)
             .where(DriftRow.watch_id == watch_row.id).order_by(col(DriftRow.id).desc()).limit(limit + 1))
    if model is not None:
        query = query.where(ModelRow.name == model)
    if cursor is not None:
        query = query.where(col(DriftRow.id) < cursor)
    rows = list(session.exec(query).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return DriftPagePublic(watch=watch_row.name, checks=[_check_public(row, name) for row, name in rows],
                           next_cursor=rows[-1][0].id if more and rows else None)


def drift_current(session: Session, watch: str, *, cycle_id: int | None = None,
                  model: str | None = None) -> DriftCyclePublic:
    """The drift checks of *watch*'s latest checked cycle (or of *cycle_id*), of *model* only if given.

    Raises:
        NotFound: no such watch, no check (for that cycle), or no check of that model.
    """
    live_watch(session, name=watch)
    found, rows = drift_rows(session, watch_name=watch, cycle_id=cycle_id, model=model)
    return DriftCyclePublic(watch=watch, cycle_id=found, checks=[_check_public(row, name) for name, row in rows],
                            documents={name: {"model": name, **row.document,
                                              "report_stored": row.report_key is not None} for name, row in rows})


def drift_snapshot(session: Session, store: BlobStore, watch: str, *, cycle_id: int, model: str) -> bytes:
    """The stored Evidently snapshot (JSON bytes) of *model*'s drift check in cycle *cycle_id* of *watch*.

    Raises:
        NotFound: no such check, or its report was pruned or never built.
    """
    _, rows = drift_rows(session, watch_name=watch, cycle_id=cycle_id, model=model)
    row = rows[0][1]
    data = None if row.report_key is None else store.get(session, row.report_key)
    if data is None:
        raise NotFound(f"the drift report of '{model}' in cycle {cycle_id} was pruned or never built "
                       "(only compared runs get one); its verdict and scalars are kept")
    return data
