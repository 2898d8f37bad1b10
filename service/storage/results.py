"""Completions and scores: idempotent writes, scoring plans, and a run's per-case results."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from evals.cases import sha256_hex
from evals.results import Completion, Score
from evals.scoring.asserts import UNSCORABLE_UNSUPPORTED, UNSUPPORTED_REASON
from evals.scoring.registry import ScorerSpec
from service.storage.public import CaseResultPublic, RunResultsPublic
from service.storage.runs import CaseItem, NotFound, cycle_cases, cycle_runs, get_cycle, get_run, model_names, recipe
from service.storage.tables import FINAL_STATES, CaseRow, CompletionRow, CycleRow, RunRow, ScoreRow, utcnow
from service.storage.upsert import insert_ignore, upsert

_COMPLETION_FIELDS = ("repetition", "output", "error", "error_kind", "attempts", "retried", "latency_ms", "ttft_ms",
                      "input_tokens", "output_tokens", "tokens_estimated", "finish_reason", "fingerprint",
                      "served_model", "cost_usd")


def save_completions(session: Session, *, run_id: int, completions: list[Completion]) -> int:
    """Store final completions of a run; ones already stored are kept as they were (the first final
    outcome wins).

    Args:
        session: The open session.
        run_id: The run the completions belong to.
        completions: Final completions; each `case_id` is a case of the golden-set version the
            run's cycle pinned.

    Returns:
        How many were new.

    Raises:
        NotFound: when the run does not exist, or a completion names a case its golden-set
            version does not have.
    """
    case_rows = _case_row_ids(session, run_id=run_id, case_keys={completion.case_id for completion in completions})
    now = utcnow()
    rows = []
    for completion in completions:
        values = asdict(completion)
        row: dict[str, Any] = {name: values[name] for name in _COMPLETION_FIELDS}
        row.update(run_id=run_id, golden_case_id=case_rows[completion.case_id], created_at=now)
        rows.append(row)
    return insert_ignore(session, CompletionRow, rows, keys=("run_id", "golden_case_id", "repetition"))


def _case_row_ids(session: Session, *, run_id: int, case_keys: set[str]) -> dict[str, int]:
    """The `golden_case` row id of each case key, in the golden-set version run *run_id* replays."""
    if not case_keys:
        return {}
    # One query per stored batch: the run's cycle pins the version whose cases are looked up.
    found = {key: row_id for key, row_id in session.exec(
        select(CaseRow.case_key, CaseRow.id)
        .join(CycleRow, col(CycleRow.golden_set_version_id) == CaseRow.version_id)
        .join(RunRow, col(RunRow.cycle_id) == CycleRow.id)
        .where(RunRow.id == run_id, col(CaseRow.case_key).in_(case_keys))).all() if row_id is not None}
    missing = sorted(case_keys - set(found))
    if missing:
        get_run(session, run_id=run_id)  # a run that does not exist is reported as such
        raise NotFound(f"run {run_id} replays a golden-set version without case(s) {', '.join(map(repr, missing))}; "
                       "a completion's case_id must be a case id of that version")
    return found


@dataclass(frozen=True)
class ScoringItem:
    """One completion to score with the scorers it still lacks."""

    completion_id: int
    case: CaseItem
    completion: Completion
    production: Completion | None
    missing: list[ScorerSpec]


def plan_scoring(session: Session, *, cycle_id: int, specs: list[ScorerSpec] | None = None,
                 run_ids: list[int] | None = None, force: bool = False) -> list[ScoringItem]:
    """Every completion of the cycle (or of *run_ids*) that lacks a score for one of *specs*
    (default: the cycle's scorers), with the production completion of the same case beside candidates'.
    A stored score marked retryable (its judge call failed in passing) counts as lacking.
    With *force*, every completion is planned for every spec (re-scoring overwrites)."""
    cycle = get_cycle(session, cycle_id=cycle_id)
    specs = specs if specs is not None else recipe(cycle).scorers
    cases = {item.row_id: item for item in cycle_cases(session, cycle_id=cycle_id)}
    runs = cycle_runs(session, cycle_id=cycle_id)
    production_run = next((run for run in runs if run.role == "production"), None)
    production: dict[tuple[int, int], Completion] = {}
    if production_run is not None:
        production = {(row.golden_case_id, row.repetition): _completion(row, cases)
                      for row in _completions(session, [production_run.id or 0])}
    selected = [run for run in runs if run_ids is None or run.id in run_ids]
    roles = {run.id: run.role for run in selected}
    rows = _completions(session, [run.id or 0 for run in selected])
    hashes = {spec.key: sha256_hex(spec.key) for spec in specs}
    scored: set[tuple[int, str]] = set() if force else set(session.exec(
        select(ScoreRow.completion_id, ScoreRow.scorer_hash)
        .join(CompletionRow, col(CompletionRow.id) == ScoreRow.completion_id)
        .where(col(CompletionRow.run_id).in_(roles), col(ScoreRow.retryable).is_(False))).all())
    plan = []
    for row in rows:
        assert row.id is not None
        missing = [spec for spec in specs if (row.id, hashes[spec.key]) not in scored]
        if missing:
            other = production.get((row.golden_case_id, row.repetition)) if roles[row.run_id] == "candidate" else None
            plan.append(ScoringItem(row.id, cases[row.golden_case_id], _completion(row, cases), other, missing))
    return plan


def _completions(session: Session, run_ids: list[int]) -> list[CompletionRow]:
    return list(session.exec(select(CompletionRow).where(col(CompletionRow.run_id).in_(run_ids))
                             .order_by(col(CompletionRow.id))).all())


def _completion(row: CompletionRow, cases: dict[int, CaseItem]) -> Completion:
    values = {name: getattr(row, name) for name in _COMPLETION_FIELDS}
    values["retried"] = tuple(values["retried"] or ())
    return Completion(case_id=cases[row.golden_case_id].case.id, **values)


def save_scores(session: Session, *, scores: list[tuple[int, ScorerSpec, Score]]) -> int:
    """Store scores `(completion id, spec, score)`; re-scoring with the same spec overwrites."""
    now = utcnow()
    rows = [{"completion_id": completion_id, "scorer_hash": sha256_hex(spec.key), "scorer_key": spec.key,
             "scorer_name": spec.name, "scorer_version": spec.version, "options": spec.options,
             "value": score.value, "explanation": score.explanation, "error": score.error,
             "details": score.details, "retryable": score.retryable, "created_at": now}
            for completion_id, spec, score in scores]
    return upsert(session, ScoreRow, rows, keys=("completion_id", "scorer_hash"),
                  update=("scorer_version", "value", "explanation", "error", "details", "retryable", "created_at"))


def add_judge_cost(session: Session, *, cycle_id: int, cost_usd: float) -> None:
    """Add what judge calls cost to the cycle's judge cost, in one statement (workers score concurrently);
    a cycle already over (re-scored later) adds it to its total cost too."""
    if not cost_usd:
        return
    session.execute(update(CycleRow).where(col(CycleRow.id) == cycle_id)
                    .values(judge_cost_usd=col(CycleRow.judge_cost_usd) + cost_usd))
    session.execute(update(CycleRow).where(col(CycleRow.id) == cycle_id, col(CycleRow.state).in_(FINAL_STATES))
                    .values(cost_usd=col(CycleRow.cost_usd) + cost_usd))


_RESULT_FIELDS = ("id", "output", "error", "attempts", "retried", "latency_ms", "ttft_ms", "input_tokens",
                  "output_tokens", "cost_usd", "repetition", "tokens_estimated")
"""What a run's results show of each completion."""


def run_results(session: Session, *, run_id: int, offset: int = 0, limit: int | None = None) -> RunResultsPublic:
    """A run with, per case, the completion and its scores by scorer key, in golden-set order;
    *offset* and *limit* select one page of the cases (default: all of them)."""
    run = get_run(session, run_id=run_id)
    # Columns rather than rows: a page is read, never changed, and the case's data is not part of it.
    rows = session.execute(select(CaseRow.case_key, *(col(getattr(CompletionRow, name)) for name in _RESULT_FIELDS))
                           .join(CaseRow, col(CaseRow.id) == CompletionRow.golden_case_id)
                           .where(CompletionRow.run_id == run_id)
                           .order_by(col(CaseRow.position), col(CompletionRow.repetition))
                           .offset(offset).limit(limit)).all()
    scores: dict[int, dict[str, float | None]] = {}
    query = (select(ScoreRow.completion_id, ScoreRow.scorer_key, ScoreRow.value)
             .join(CompletionRow, col(CompletionRow.id) == ScoreRow.completion_id)
             .where(CompletionRow.run_id == run_id))
    if limit is not None:  # one page: only its completions' scores
        query = query.where(col(ScoreRow.completion_id).in_([row.id for row in rows]))
    for completion_id, scorer_key, value in session.exec(query).all():
        scores.setdefault(completion_id, {})[scorer_key] = value
    cases = [CaseResultPublic(
        case_id=row.case_key, output=row.output, error=row.error, attempts=row.attempts, retried=row.retried,
        latency_ms=row.latency_ms, ttft_ms=row.ttft_ms, input_tokens=row.input_tokens, output_tokens=row.output_tokens,
        cost_usd=row.cost_usd, scores=scores.get(row.id, {}), repetition=row.repetition if run.repeat > 1 else None,
        tokens_estimated=True if row.tokens_estimated else None) for row in rows]
    return RunResultsPublic.model_validate({"run_id": run.id, "model": model_names(session, [run])[run.model_id],
                                            "simulated": run.model_spec.get("kind") == "sim", "role": run.role,
                                            "state": run.state, "cases": cases,
                                            "unscorable": unscorable_cases(session, run_id=run_id)})


def unscorable_cases(session: Session, *, run_id: int) -> dict[str, int]:
    """How many cases of a run are unscorable for a known cause: asserts Turnout cannot run, imported as allowed."""
    found = session.exec(select(func.count(func.distinct(CompletionRow.golden_case_id)))
                         .join(ScoreRow, col(ScoreRow.completion_id) == CompletionRow.id)
                         .where(CompletionRow.run_id == run_id, col(ScoreRow.value).is_(None),
                                col(ScoreRow.error).startswith(UNSUPPORTED_REASON, autoescape=True))).one()
    return {UNSCORABLE_UNSUPPORTED: int(found)} if found else {}


def run_score_values(session: Session, *, run: RunRow) -> dict[str, list[float]]:
    """The score values of a run by scorer key (unscorable ones left out)."""
    rows = session.exec(select(ScoreRow.scorer_key, ScoreRow.value)
                        .join(CompletionRow, col(CompletionRow.id) == ScoreRow.completion_id)
                        .where(CompletionRow.run_id == run.id)).all()
    values: dict[str, list[float]] = {}
    for key, value in rows:
        if value is not None:
            values.setdefault(key, []).append(value)
    return values


def run_latencies(session: Session, *, run: RunRow) -> list[float]:
    """Latencies of a run's answered completions, in ms."""
    return [value for value in session.exec(select(CompletionRow.latency_ms).where(
        CompletionRow.run_id == run.id, col(CompletionRow.latency_ms).is_not(None))).all() if value is not None]


def run_ttfts(session: Session, *, run: RunRow) -> list[float]:
    """Times to first token of a run's streamed completions, in ms."""
    return [value for value in session.exec(select(CompletionRow.ttft_ms).where(
        CompletionRow.run_id == run.id, col(CompletionRow.ttft_ms).is_not(None))).all() if value is not None]


def error_kinds(session: Session, *, run_id: int) -> dict[str, int]:
    """How many of a run's completions failed, by error kind (`connection`, `timeout`, ...)."""
    rows = session.exec(select(CompletionRow.error_kind, func.count()).where(
        CompletionRow.run_id == run_id, col(CompletionRow.error).is_not(None)).group_by(CompletionRow.error_kind))
    return {kind or "other": int(n) for kind, n in rows}
