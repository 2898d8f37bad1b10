"""Cycles and runs: creating them, planning what is left to do, and recording state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from evals.cases import Case, sha256_hex
from evals.errors import TurnoutError
from evals.models import ModelSpec
from evals.recipe import Recipe, StoredWatch
from evals.results import FailureKind
from evals.sampling import sample_cases
from service.storage import outbox
from service.storage.drift_tables import ProbeSampleRow
from service.storage.tables import (
    FINAL_STATES,
    CaseRow,
    CompletionRow,
    CycleRow,
    GoldenSetRow,
    GoldenSetVersionRow,
    ModelRow,
    RunRow,
    State,
    WatchRow,
    utcnow,
)


class NotFound(TurnoutError):
    """A watch, cycle or run that does not exist (or was deleted)."""


class InvalidState(TurnoutError):
    """The object exists but is in no state to do what was asked."""


@dataclass(frozen=True)
class CaseItem:
    """A case of the cycle's golden-set version, with its row id."""

    row_id: int
    case: Case
    content_hash: str


@dataclass(frozen=True)
class ReplayPlan:
    """What is left to replay for one run."""

    run_id: int
    model: ModelSpec
    template: str
    todo: list[tuple[CaseItem, int]]
    """Cases with the repetition still missing a final completion (of the model's case sample, if it has one)."""
    n_total: int
    cycle_id: int
    budget_left_usd: float | None
    """The watch's `budget_usd` less what the cycle's runs have spent; None without a budget."""
    open_runs: int
    """Runs of the cycle not over yet (this one included): a worker's share of the budget."""


def create_cycle(session: Session, *, watch_name: str, trigger: str,
                 scheduled_for: datetime | None = None) -> CycleRow:
    """Create a cycle of *watch_name* with one queued run per model, pinning the golden-set version.

    For scheduled cycles the `(watch, scheduled_for)` key makes a second call return the first cycle.
    """
    watch = session.exec(select(WatchRow).where(WatchRow.name == watch_name,
                                                col(WatchRow.deleted_at).is_(None))).first()
    if watch is None:
        raise NotFound(f"no watch named '{watch_name}'; `turnout apply -f turnout.yaml` declares watches")
    assert watch.id is not None
    if scheduled_for is not None:
        existing = session.exec(select(CycleRow).where(CycleRow.watch_id == watch.id,
                                                       CycleRow.scheduled_for == scheduled_for)).first()
        if existing is not None:
            return existing
    golden_set = session.get(GoldenSetRow, watch.golden_set_id)
    assert golden_set is not None and golden_set.current_version_id is not None
    version = session.get(GoldenSetVersionRow, golden_set.current_version_id)
    assert version is not None and version.id is not None
    if version.used_at is None:
        version.used_at = utcnow()
        session.add(version)
    declared = Recipe(watch=StoredWatch.model_validate(watch.spec), golden_set=golden_set.name,
                      content_hash=version.content_hash)
    cycle = CycleRow(watch_id=watch.id, golden_set_version_id=version.id, trigger=trigger,
                     scheduled_for=scheduled_for, recipe=declared.model_dump(mode="json"),
                     primary_scorer_hash=sha256_hex(declared.primary.key))
    session.add(cycle)
    session.flush()
    assert cycle.id is not None
    repeat = declared.watch.repeat
    samples = declared.watch.sample_cases
    for role, names in (("production", [declared.watch.production]), ("candidate", declared.watch.candidates)):
        for name in names:
            model = session.exec(select(ModelRow).where(ModelRow.name == name,
                                                        col(ModelRow.deleted_at).is_(None))).first()
            if model is None:
                raise NotFound(f"watch '{watch_name}' names model '{name}', which is not declared (or was pruned)")
            assert model.id is not None
            n_cases = min(samples.get(name, version.n_cases), version.n_cases)  # a sample of `n` asks n cases
            session.add(RunRow(cycle_id=cycle.id, model_id=model.id, role=role, model_spec=model.spec,
                               repeat=repeat, n_total=n_cases * repeat))
    session.flush()
    return cycle


def cycle_runs(session: Session, *, cycle_id: int) -> list[RunRow]:
    """The runs of a cycle, production first."""
    runs = session.exec(select(RunRow).where(RunRow.cycle_id == cycle_id).order_by(col(RunRow.id))).all()
    return sorted(runs, key=lambda run: run.role != "production")


def cycle_cases(session: Session, *, cycle_id: int) -> list[CaseItem]:
    """The cases of the golden-set version the cycle pinned, in order."""
    cycle = get_cycle(session, cycle_id=cycle_id)
    rows = session.exec(select(CaseRow).where(CaseRow.version_id == cycle.golden_set_version_id)
                        .order_by(col(CaseRow.position))).all()
    return [CaseItem(row_id=row.id, case=Case.from_data(row.data), content_hash=row.content_hash)
            for row in rows if row.id is not None]


def cycle_tags(session: Session, *, cycle_id: int) -> list[str]:
    """The tags (segments) of the cases of the golden-set version the cycle pinned, sorted."""
    cycle = get_cycle(session, cycle_id=cycle_id)
    rows = session.exec(select(CaseRow.tags).where(CaseRow.version_id == cycle.golden_set_version_id)).all()
    return sorted({tag for tags in rows for tag in tags})


def run_case_sample(session: Session, *, run: RunRow, cycle: CycleRow | None = None) -> frozenset[str] | None:
    """Content hashes of the cases *run* is asked when its cycle's watch gives its model a case sample
    (`sample_cases`); None when it is asked every case."""
    cycle = cycle or get_cycle(session, cycle_id=run.cycle_id)
    n = recipe(cycle).watch.sample_cases.get(str(run.model_spec.get("name")))
    if n is None:
        return None
    rows = session.exec(select(CaseRow.content_hash, CaseRow.tags)
                        .where(CaseRow.version_id == cycle.golden_set_version_id)).all()
    return sample_cases(rows, n=n)


def get_cycle(session: Session, *, cycle_id: int) -> CycleRow:
    cycle = session.get(CycleRow, cycle_id)
    if cycle is None:
        raise NotFound(f"no cycle with id {cycle_id}")
    return cycle


def get_run(session: Session, *, run_id: int) -> RunRow:
    run = session.get(RunRow, run_id)
    if run is None:
        raise NotFound(f"no run with id {run_id}; `turnout run WATCH --json` prints run ids")
    return run


def plan_replay(session: Session, *, run_id: int) -> ReplayPlan | None:
    """What run *run_id* still has to replay, or None when the run is over (finished, failed, cancelled)."""
    run = get_run(session, run_id=run_id)
    if run.state in FINAL_STATES:
        return None
    cycle = get_cycle(session, cycle_id=run.cycle_id)
    done = set(session.exec(select(CompletionRow.golden_case_id, CompletionRow.repetition)
                            .where(CompletionRow.run_id == run_id)).all())
    sample = run_case_sample(session, run=run, cycle=cycle)
    cases = [item for item in cycle_cases(session, cycle_id=cycle.id or 0)
             if sample is None or item.content_hash in sample]
    todo = [(item, repetition) for repetition in range(run.repeat) for item in cases
            if (item.row_id, repetition) not in done]
    watch = recipe(cycle).watch
    siblings = cycle_runs(session, cycle_id=run.cycle_id)
    budget = watch.budget_usd
    left = None if budget is None else budget - spent_usd(cycle, siblings)
    return ReplayPlan(run_id=run_id, model=ModelSpec.model_validate(run.model_spec), template=watch.template,
                      todo=todo, n_total=run.n_total, cycle_id=run.cycle_id, budget_left_usd=left,
                      open_runs=sum(r.state not in FINAL_STATES for r in siblings))


def spent_usd(cycle: CycleRow, cycle_runs: list[RunRow]) -> float:
    """What a cycle has spent so far, against its watch's `budget_usd`: its runs and its judge calls."""
    return sum(run.cost_usd for run in cycle_runs) + cycle.judge_cost_usd


def golden_set_privacy(session: Session, *, cycle: CycleRow) -> str:
    """The privacy class of the golden-set version the cycle pinned."""
    version = session.get(GoldenSetVersionRow, cycle.golden_set_version_id)
    if version is None:
        raise NotFound(f"cycle {cycle.id} pins golden-set version {cycle.golden_set_version_id}, which does not exist")
    return version.privacy


def recipe(cycle: CycleRow) -> Recipe:
    """The recipe the cycle was made with: its watch, scorers, policy and golden-set version."""
    return Recipe.model_validate(cycle.recipe)


def set_run_state(session: Session, *, run_id: int, state: State, reason: str | None = None,
                  kind: FailureKind | None = None) -> None:
    """Move a run to *state*; a final state is never left (a late retry cannot reopen a run).
    A failed or cancelled run says why: *kind* for readers that route on it, *reason* for people."""
    run = get_run(session, run_id=run_id)
    if run.state in FINAL_STATES:
        return
    now = utcnow()
    run.state, run.reason, run.failure_kind, run.heartbeat_at = state, reason, kind, now
    if state == "running" and run.started_at is None:
        run.started_at = now
    if state in FINAL_STATES:
        run.finished_at = now
    session.add(run)


def set_cycle_state(session: Session, *, cycle_id: int, state: State, reason: str | None = None,
                    kind: FailureKind | None = None) -> None:
    """Move a cycle to *state* (never out of a final one); the cost is summed from its runs and judge calls.
    A failed or cancelled cycle says why, as for runs (`set_run_state`)."""
    cycle = get_cycle(session, cycle_id=cycle_id)
    if cycle.state in FINAL_STATES:
        return
    now = utcnow()
    cycle.state, cycle.reason, cycle.failure_kind = state, reason, kind
    if state == "running" and cycle.started_at is None:
        cycle.started_at = now
    if state in FINAL_STATES:
        cycle.finished_at = now
        # Judge cost is added by statements (`results.add_judge_cost`), so it is read back, not taken from the object.
        judges = session.exec(select(CycleRow.judge_cost_usd).where(CycleRow.id == cycle_id)).one()
        cycle.cost_usd = float(session.exec(select(func.coalesce(func.sum(RunRow.cost_usd), 0.0))
                                            .where(RunRow.cycle_id == cycle_id)).one()) + float(judges)
    session.add(cycle)
    if state in FINAL_STATES:  # a failing (or recovering) cycle's alert is written with its state
        session.flush()
        outbox.record_cycle_closed(session, cycle=cycle)


def refresh_run_counts(session: Session, *, run_id: int) -> RunRow:
    """Recompute a run's counters from its completions (idempotent, whatever was retried)."""
    run = get_run(session, run_id=run_id)
    # SQLAlchemy's select: sqlmodel's is typed for at most four columns, and one query keeps the
    # counters consistent with each other.
    n_done, n_errors, tokens_in, tokens_out, cost = session.execute(
        sa.select(func.count(), func.count(col(CompletionRow.error)),
                  func.coalesce(func.sum(CompletionRow.input_tokens), 0),
                  func.coalesce(func.sum(CompletionRow.output_tokens), 0),
                  func.coalesce(func.sum(CompletionRow.cost_usd), 0.0))
        .where(col(CompletionRow.run_id) == run_id)).one()
    # The distribution probe's calls are spent by the run too (its tokens are not the golden set's mix).
    probe_cost = session.execute(sa.select(func.coalesce(func.sum(ProbeSampleRow.cost_usd), 0.0))
                                 .where(col(ProbeSampleRow.run_id) == run_id)).scalar_one()
    run.n_done, run.n_errors = int(n_done), int(n_errors)
    run.input_tokens, run.output_tokens = int(tokens_in), int(tokens_out)
    run.cost_usd = float(cost) + float(probe_cost)
    run.heartbeat_at = utcnow()
    session.add(run)
    return run


def model_names(session: Session, runs: list[RunRow]) -> dict[int, str]:
    """Model names by model id for *runs* (deleted models keep their names)."""
    ids = {run.model_id for run in runs}
    rows = session.exec(select(ModelRow).where(col(ModelRow.id).in_(ids))).all()
    return {row.id: row.name for row in rows if row.id is not None}


def cancel_cycle(session: Session, *, cycle_id: int, reason: str = "cancelled by a user") -> CycleRow:
    """Cancel a cycle and its unfinished runs; replays stop at their next batch. Raises InvalidState
    for a cycle that is already over."""
    cycle = get_cycle(session, cycle_id=cycle_id)
    if cycle.state in FINAL_STATES:
        raise InvalidState(f"cycle {cycle_id} is already {cycle.state}; only queued or running cycles can be cancelled")
    for run in cycle_runs(session, cycle_id=cycle_id):
        set_run_state(session, run_id=run.id or 0, state="cancelled", reason=reason, kind="cancelled")
    set_cycle_state(session, cycle_id=cycle_id, state="cancelled", reason=reason, kind="cancelled")
    return cycle


def recent_cycles(session: Session, *, limit: int = 20, watch_name: str | None = None) -> list[CycleRow]:
    """Open cycles first, then the most recent others, newest first."""
    query = select(CycleRow).order_by(col(CycleRow.id).desc()).limit(limit)
    if watch_name is not None:
        query = query.join(WatchRow, col(WatchRow.id) == CycleRow.watch_id).where(WatchRow.name == watch_name)
    cycles = list(session.exec(query).all())
    return sorted(cycles, key=lambda cycle: cycle.state in FINAL_STATES)
