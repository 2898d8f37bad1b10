"""Production beside each candidate, case by case, for one cycle: the case, each model's answer, its
scores with their explanations, and whether the answer changed since the model's drift reference run."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from evals.cases import sha256_hex
from service.storage.drift import reference_runs
from service.storage.listing import MAX_PAGE
from service.storage.public import FrozenPublic
from service.storage.runs import cycle_runs, get_cycle, model_names, recipe
from service.storage.tables import CaseRow, CompletionRow, RunRow, ScoreRow, WatchRow


class ScoreDetailPublic(FrozenPublic):
    """One scorer's judgement of one answer, with why."""

    scorer: str
    """The scorer key."""
    value: float | None
    """None when the scorer could not judge (see `error`)."""
    explanation: str | None
    """The scorer's words: a judge's rationale, the text matched."""
    error: str | None
    details: dict[str, Any]
    """Scorer-specific extras: `assertions` lists each assert's outcome (failed ones included)."""


class SideModelPublic(FrozenPublic):
    """One model's answer to the case in the cycle."""

    model: str
    role: str
    run_id: int
    answered: bool
    """False when the run has no completion for the case (yet)."""
    output: str | None
    error: str | None
    latency_ms: float | None
    ttft_ms: float | None
    scores: list[ScoreDetailPublic]
    failed: bool
    """An error, no primary score, or less than full marks on the primary scorer."""
    changed: bool | None
    """The answer differs from the one of `reference_run_id` on the same case content; None when there is
    no reference run or it did not answer that case."""
    reference_run_id: int | None


class SideCasePublic(FrozenPublic):
    """A case of the cycle's golden-set version, with every model's answer (production first)."""

    case_id: str
    position: int
    tags: list[str]
    input: Any
    """The prompt, or a list of chat messages, as the golden set gives it."""
    expected: str | None
    models: list[SideModelPublic]


class SideBySidePagePublic(FrozenPublic):
    """One page of a cycle's cases in golden-set order; pass `next_cursor` as `cursor` for the next one."""

    cycle_id: int
    watch: str
    primary_scorer: str
    segment: str | None
    failed_only: bool
    changed_only: bool
    reference_run_ids: dict[str, int | None]
    """Model name → the run its answers are compared with for `changed` (its drift reference)."""
    cases: list[SideCasePublic]
    next_cursor: int | None


def side_by_side(session: Session, cycle_id: int, *, segment: str | None = None, failed_only: bool = False,
                 changed_only: bool = False, cursor: int | None = None, limit: int = 50) -> SideBySidePagePublic:
    """A page of cycle *cycle_id*'s cases with production's and each candidate's answer (repetition 0).

    Args:
        session: The open session.
        cycle_id: The cycle.
        segment: Only cases with this tag.
        failed_only: Only cases some model failed (see `SideModelPublic.failed`).
        changed_only: Only cases where some model's answer changed since its drift reference run.
        cursor: A previous page's `next_cursor` (a golden-set position): cases from there on.
        limit: Page size (at most `MAX_PAGE`).

    Raises:
        NotFound: no such cycle.
    """
    cycle = get_cycle(session, cycle_id=cycle_id)
    primary = recipe(cycle).primary.key
    primary_hash = cycle.primary_scorer_hash or sha256_hex(primary)
    watch = session.get(WatchRow, cycle.watch_id)
    runs = cycle_runs(session, cycle_id=cycle_id)
    names = model_names(session, runs)
    references = {run.id or 0: next(iter(reversed(reference_runs(session, run=run, k=1))), None) for run in runs}
    cases = session.execute(sa.select(col(CaseRow.id), col(CaseRow.position), col(CaseRow.content_hash),
                                      col(CaseRow.tags))
                            .where(col(CaseRow.version_id) == cycle.golden_set_version_id)
                            .order_by(col(CaseRow.position))).all()
    chosen = [(case_id, position, content_hash) for case_id, position, content_hash, tags in cases
              if (segment is None or segment in tags) and (cursor is None or position >= cursor)]
    run_ids = [run.id or 0 for run in runs]
    if failed_only:
        failed = _failed_cases(session, run_ids=run_ids, primary_hash=primary_hash)
        chosen = [item for item in chosen if item[0] in failed]
    if changed_only:
        changed = _changed_cases(session, runs=runs, references=references)
        chosen = [item for item in chosen if item[2] in changed]
    limit = max(1, min(limit, MAX_PAGE))
    page, rest = chosen[:limit], chosen[limit:]
    return SideBySidePagePublic(
        cycle_id=cycle_id, watch=watch.name if watch else "", primary_scorer=primary, segment=segment,
        failed_only=failed_only, changed_only=changed_only,
        reference_run_ids={names[run.model_id]: ref.id if ref else None for run in runs
                           for ref in [references[run.id or 0]]},
        cases=_page_cases(session, runs=runs, names=names, references=references, case_ids=[c[0] for c in page],
                          primary_hash=primary_hash),
        next_cursor=rest[0][1] if rest else None)


def _failed(error: str | None, primary: float | None) -> bool:
    return error is not None or primary is None or primary < 1.0


def _failed_cases(session: Session, *, run_ids: list[int], primary_hash: str) -> set[int]:
    """Golden-case ids some run of *run_ids* failed on (repetition 0)."""
    rows = session.execute(
        sa.select(col(CompletionRow.golden_case_id), col(CompletionRow.error), col(ScoreRow.value))
        .select_from(CompletionRow)
        .outerjoin(ScoreRow, sa.and_(col(ScoreRow.completion_id) == CompletionRow.id,
                                     col(ScoreRow.scorer_hash) == primary_hash))
        .where(col(CompletionRow.run_id).in_(run_ids), col(CompletionRow.repetition) == 0)).all()
    return {case_id for case_id, error, value in rows if _failed(error, value)}


def _outputs(session: Session, *, run_id: int, hashes: set[str] | None = None) -> dict[str, str | None]:
    """Case content hash → the run's answer (repetition 0; None for an error)."""
    query = (select(CaseRow.content_hash, CompletionRow.output)
             .join(CompletionRow, col(CompletionRow.golden_case_id) == CaseRow.id)
             .where(CompletionRow.run_id == run_id, CompletionRow.repetition == 0))
    if hashes is not None:
        query = query.where(col(CaseRow.content_hash).in_(hashes))
    return dict(session.exec(query).all())


def _changed_cases(session: Session, *, runs: list[RunRow], references: dict[int, RunRow | None]) -> set[str]:
    """Content hashes of the cases on which some run's answer differs from its reference run's."""
    changed: set[str] = set()
    for run in runs:
        reference = references[run.id or 0]
        if reference is None:
            continue
        before = _outputs(session, run_id=reference.id or 0)
        now = _outputs(session, run_id=run.id or 0)
        changed.update(key for key, output in now.items() if key in before and before[key] != output)
    return changed


def _page_cases(session: Session, *, runs: list[RunRow], names: dict[int, str], references: dict[int, RunRow | None],
                case_ids: list[int], primary_hash: str) -> list[SideCasePublic]:
    if not case_ids:
        return []
    cases = session.exec(select(CaseRow).where(col(CaseRow.id).in_(case_ids)).order_by(col(CaseRow.position))).all()
    hashes = {case.content_hash for case in cases}
    completions = {(row.run_id, row.golden_case_id): row for row in session.exec(
        select(CompletionRow).where(col(CompletionRow.run_id).in_([run.id for run in runs]),
                                    col(CompletionRow.golden_case_id).in_(case_ids), CompletionRow.repetition == 0))}
    scores: dict[int, list[ScoreRow]] = {}
    if completions:
        for score in session.exec(select(ScoreRow).where(
                col(ScoreRow.completion_id).in_([row.id for row in completions.values()]))
                .order_by(col(ScoreRow.scorer_key))):
            scores.setdefault(score.completion_id, []).append(score)
    before = {run.id or 0: _outputs(session, run_id=ref.id or 0, hashes=hashes) if ref else {}
              for run in runs for ref in [references[run.id or 0]]}
    result = []
    for case in cases:
        models = []
        for run in runs:
            reference = references[run.id or 0]
            row = completions.get((run.id or 0, case.id or 0))
            stored = scores.get(row.id or 0, []) if row else []
            primary = next((s.value for s in stored if s.scorer_hash == primary_hash), None)
            old = before[run.id or 0]
            models.append(SideModelPublic(
                model=names[run.model_id], role=run.role, run_id=run.id or 0, answered=row is not None,
                output=row.output if row else None, error=row.error if row else None,
                latency_ms=row.latency_ms if row else None, ttft_ms=row.ttft_ms if row else None,
                scores=[ScoreDetailPublic(scorer=s.scorer_key, value=s.value, explanation=s.explanation,
                                          error=s.error, details=s.details) for s in stored],
                failed=row is not None and _failed(row.error, primary),
                changed=(old[case.content_hash] != row.output) if row and case.content_hash in old else None,
                reference_run_id=reference.id if reference else None))
        result.append(SideCasePublic(case_id=case.case_key, position=case.position, tags=list(case.tags),
                                     input=case.data.get("input"), expected=case.data.get("expected"),
                                     models=models))
    return result
