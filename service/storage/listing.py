"""Read models of the catalog and pages of cycles and results, as the API serves them.

Like `service.storage.public`, each is a pydantic model a route names as its `response_model`; the
CLI and the API call these same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from evals.recipe import StoredWatch
from service.storage import catalog
from service.storage.public import CycleStatusPublic, FrozenPublic, IsoDatetime, RunProgressPublic, RunResultsPublic
from service.storage.results import run_results
from service.storage.runs import NotFound
from service.storage.tables import CycleRow, GoldenSetVersionRow, ModelRow, Role, RunRow, State, WatchRow

MAX_PAGE = 500
"""The largest page any list answers, whatever `limit` asks for."""

MAX_ID = 2**31 - 1
"""The largest row id (a 32-bit integer column on PostgreSQL): ids and cursors beyond it match nothing."""

MODEL_FIELDS = ("kind", "base_url", "model", "api_key_env", "params", "max_concurrency", "rpm", "tpm", "timeout_s",
                "max_retries", "stream", "hosting", "residency", "context_window", "pricing")
"""What a model's listing shows of its declaration: secrets appear only as environment variable names
(`api_key_env`); free-form `options` are left out, since nothing says what they hold."""


class WatchPublic(FrozenPublic):
    """A watch as declared, with its schedule and whether it is paused."""

    name: str
    golden_set: str
    production: str
    candidates: list[str]
    scorers: list[dict[str, Any]]
    schedule: str | None
    timezone: str
    paused: bool
    team: str | None
    updated_at: IsoDatetime


class WatchesPublic(FrozenPublic):
    """Watches that are not deleted, by name."""

    watches: list[WatchPublic]


class ModelPublic(FrozenPublic):
    """A model's declaration; its API key only as the name of the environment variable holding it."""

    name: str
    spec: dict[str, Any]
    updated_at: IsoDatetime


class ModelsPublic(FrozenPublic):
    """Models that are not deleted, by name."""

    models: list[ModelPublic]


class GoldenSetVersionPublic(FrozenPublic):
    """One content of a golden set."""

    content_hash: str
    n_cases: int
    privacy: str
    created_at: IsoDatetime
    used_at: IsoDatetime | None
    """When a cycle first used it; from then on it is evidence and never changes."""
    current: bool


class GoldenSetPublic(FrozenPublic):
    """A golden set with its versions, newest first."""

    name: str
    privacy: str
    source: str | None
    versions: list[GoldenSetVersionPublic]


class GoldenSetSummaryPublic(FrozenPublic):
    """A golden set in the list: its current version and how many it has (`GET /golden-sets/{name}` pages
    through them)."""

    name: str
    privacy: str
    source: str | None
    current: GoldenSetVersionPublic | None
    n_versions: int


class GoldenSetsPublic(FrozenPublic):
    """Golden sets that are not deleted, by name."""

    golden_sets: list[GoldenSetSummaryPublic]


class CyclePagePublic(FrozenPublic):
    """Cycles, newest first; pass `next_cursor` as `cursor` for the older ones (None: no more)."""

    cycles: list[CycleStatusPublic]
    next_cursor: int | None


class RunResultsPagePublic(RunResultsPublic):
    """A run with one page of its per-case results; `next_cursor` fetches the next page (None: no more)."""

    next_cursor: int | None


def watch_public(row: WatchRow) -> WatchPublic:
    """A watch row as the API shows it."""
    spec = StoredWatch.model_validate(row.spec)
    return WatchPublic(name=row.name, golden_set=spec.golden_set, production=spec.production,
                       candidates=list(spec.candidates), scorers=list(row.spec.get("scorers", [])),
                       schedule=row.schedule, timezone=row.timezone, paused=row.paused, team=row.team,
                       updated_at=row.updated_at)


def watches(session: Session) -> WatchesPublic:
    """Every watch that is not deleted."""
    return WatchesPublic(watches=[watch_public(row) for row in catalog.list_watches(session)])


def watch(session: Session, *, name: str) -> WatchPublic:
    """Watch *name*. Raises NotFound when there is none (or it was pruned)."""
    return watch_public(live_watch(session, name=name))


def live_watch(session: Session, *, name: str) -> WatchRow:
    """The row of watch *name*. Raises NotFound when there is none (or it was pruned)."""
    row = session.exec(select(WatchRow).where(WatchRow.name == name, col(WatchRow.deleted_at).is_(None))).first()
    if row is None:
        raise NotFound(f"no watch named '{name}'; `turnout apply -f turnout.yaml` declares watches")
    return row


def models(session: Session) -> ModelsPublic:
    """Every model that is not deleted, without secrets."""
    return ModelsPublic(models=[_model_public(row) for row in catalog.list_models(session)])


def model(session: Session, *, name: str) -> ModelPublic:
    """Model *name*, without secrets. Raises NotFound when there is none (or it was deleted)."""
    row = session.exec(select(ModelRow).where(ModelRow.name == name, col(ModelRow.deleted_at).is_(None))).first()
    if row is None:
        raise NotFound(f"no model named '{name}'; `turnout apply -f turnout.yaml` declares models")
    return _model_public(row)


def _model_public(row: ModelRow) -> ModelPublic:
    return ModelPublic(name=row.name, spec={key: row.spec[key] for key in MODEL_FIELDS if key in row.spec},
                       updated_at=row.updated_at)


def golden_sets(session: Session) -> GoldenSetsPublic:
    """Every golden set that is not deleted, with its current version and its count of versions (not every
    version: a set edited daily holds hundreds)."""
    sets = catalog.list_golden_sets(session)
    counts: dict[int, int] = {}
    current: dict[int, GoldenSetVersionRow] = {}
    if sets:
        ids = [row.id for row in sets]
        counts = {set_id: n for set_id, n in session.exec(
            select(col(GoldenSetVersionRow.golden_set_id), sa.func.count())
            .where(col(GoldenSetVersionRow.golden_set_id).in_(ids))
            .group_by(col(GoldenSetVersionRow.golden_set_id))).all()}
        current_ids = [row.current_version_id for row in sets if row.current_version_id is not None]
        current = {v.golden_set_id: v for v in session.exec(
            select(GoldenSetVersionRow).where(col(GoldenSetVersionRow.id).in_(current_ids))).all()}
    return GoldenSetsPublic(golden_sets=[GoldenSetSummaryPublic(
        name=row.name, privacy=row.privacy, source=row.source, n_versions=counts.get(row.id or 0, 0),
        current=_version_public(current[row.id or 0], current=True) if (row.id or 0) in current else None)
        for row in sets])


def _version_public(v: GoldenSetVersionRow, *, current: bool) -> GoldenSetVersionPublic:
    return GoldenSetVersionPublic(content_hash=v.content_hash, n_cases=v.n_cases, privacy=v.privacy,
                                  created_at=v.created_at, used_at=v.used_at, current=current)


def cycle_page(session: Session, *, limit: int = 50, cursor: int | None = None, watch: str | None = None,
               state: State | None = None, model: str | None = None, since: datetime | None = None,
               until: datetime | None = None) -> CyclePagePublic:
    """Cycles newest first, *limit* at a time, optionally of one watch, in one state, with a run of one
    model, made within a time range.

    Args:
        session: The open session.
        limit: Page size (at most `MAX_PAGE`).
        cursor: The previous page's `next_cursor`: cycles older than it.
        watch: Only cycles of this watch (deleted watches' cycles too).
        state: Only cycles in this state.
        model: Only cycles with a run of this model (as production or candidate).
        since: Only cycles made at or after this time.
        until: Only cycles made before this time.
    """
    limit = min(limit, MAX_PAGE)
    # Columns rather than rows: a page is read, never changed (and the recipe is not part of a status).
    query = (sa.select(*(col(getattr(CycleRow, name)) for name in _CYCLE_FIELDS))
             .order_by(col(CycleRow.id).desc()).limit(limit + 1))
    if cursor is not None:
        query = query.where(col(CycleRow.id) < cursor)
    if watch is not None:
        query = query.join(WatchRow, col(WatchRow.id) == CycleRow.watch_id).where(col(WatchRow.name) == watch)
    if state is not None:
        query = query.where(col(CycleRow.state) == state)
    if model is not None:
        query = query.where(sa.exists().where(col(RunRow.cycle_id) == CycleRow.id, col(ModelRow.id) == RunRow.model_id,
                                              col(ModelRow.name) == model))
    if since is not None:
        query = query.where(col(CycleRow.created_at) >= _utc(since))
    if until is not None:
        query = query.where(col(CycleRow.created_at) < _utc(until))
    rows = list(session.execute(query).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return CyclePagePublic(cycles=cycle_statuses(session, rows), next_cursor=rows[-1].id if more and rows else None)


_CYCLE_FIELDS = ("id", "watch_id", "state", "step", "reason", "failure_kind", "trigger", "scheduled_for", "created_at")
_RUN_FIELDS = ("id", "cycle_id", "model_id", "role", "state", "n_done", "n_total", "n_errors")


def cycle_statuses(session: Session, cycles: Sequence[CycleRow | sa.Row[Any]]) -> list[CycleStatusPublic]:
    """`status.cycle_status` of each cycle, in three queries for the page rather than three per cycle."""
    if not cycles:
        return []
    cycle_runs: dict[int, list[sa.Row[Any]]] = {}
    all_runs = session.execute(sa.select(*(col(getattr(RunRow, name)) for name in _RUN_FIELDS))
                               .where(col(RunRow.cycle_id).in_([c.id for c in cycles])).order_by(col(RunRow.id))).all()
    for run in all_runs:
        cycle_runs.setdefault(run.cycle_id, []).append(run)
    names = dict(session.execute(sa.select(col(ModelRow.id), col(ModelRow.name)).where(
        col(ModelRow.id).in_({run.model_id for run in all_runs}))).all())
    watch_names = dict(session.execute(sa.select(col(WatchRow.id), col(WatchRow.name)).where(
        col(WatchRow.id).in_({c.watch_id for c in cycles}))).all())
    return [CycleStatusPublic.model_validate({
        "cycle_id": cycle.id, "watch": watch_names.get(cycle.watch_id, ""), "state": cycle.state, "step": cycle.step,
        "reason": cycle.reason, "failure_kind": cycle.failure_kind, "trigger": cycle.trigger,
        "scheduled_for": cycle.scheduled_for, "created_at": cycle.created_at,
        "runs": [RunProgressPublic(run_id=run.id, model=names[run.model_id], role=cast(Role, run.role),
                                   state=cast(State, run.state), done=run.n_done, total=run.n_total,
                                   errors=run.n_errors)
                 for run in sorted(cycle_runs.get(cast(int, cycle.id), []), key=lambda run: run.role != "production")]})
        for cycle in cycles]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def run_results_page(session: Session, *, run_id: int, limit: int = 100, cursor: int = 0) -> RunResultsPagePublic:
    """Run *run_id* with *limit* of its per-case results from position *cursor* (a previous `next_cursor`)."""
    limit = min(limit, MAX_PAGE)
    page = run_results(session, run_id=run_id, offset=cursor, limit=limit + 1)
    more = len(page.cases) > limit
    return RunResultsPagePublic(**{**dict(page), "cases": page.cases[:limit]},
                                next_cursor=cursor + limit if more else None)
