"""Per-case reads of a run next to another run of its cycle: the dashboard's run and case pages.

A page lists one row per case (first repetition) with both answers and the primary score; filters
by tag, by failure (an error, or a primary score below 1) and by change against a reference run
(another answer to the same case content) apply before the page is cut. Explanations (judge
rationales, failed asserts) are read for the page's rows only.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from service.storage.runs import NotFound, get_run, model_names, recipe
from service.storage.tables import CaseRow, CompletionRow, CycleRow, ScoreRow


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class ScorePublic(_Public):
    """One scorer's judgement, with why."""

    scorer: str
    value: float | None
    explanation: str | None
    error: str | None


class AnswerPublic(_Public):
    """One model's answer to a case."""

    run_id: int
    repetition: int
    output: str | None
    error: str | None
    latency_ms: float | None
    primary: float | None
    scores: list[ScorePublic]


class CaseRowPublic(_Public):
    """A case with the run's answer and the other run's."""

    case_id: str
    tags: list[str]
    answer: AnswerPublic | None
    other: AnswerPublic | None
    changed: bool | None
    """Whether the answer differs from the reference run's; None without a reference."""


class CasePagePublic(_Public):
    """A page of cases of a run against another run of its cycle."""

    run_id: int
    model: str
    other_run_id: int | None
    other_model: str | None
    primary_scorer: str
    tags: list[str]
    """Every tag of the run's cases, for the segment filter."""
    total: int
    """Cases left after the filters."""
    offset: int
    cases: list[CaseRowPublic]


class CaseDetailPublic(_Public):
    """One case in full, with every repetition of both runs."""

    case_id: str
    data: dict[str, Any]
    """The case as stored in its golden-set version (input, context, expected, asserts, tags)."""
    answers: list[AnswerPublic]
    other_answers: list[AnswerPublic]


def _answers(session: Session, *, run_id: int, primary: str, case_ids: list[int] | None,
             with_scores: bool) -> dict[int, list[AnswerPublic]]:
    query = select(CompletionRow).where(CompletionRow.run_id == run_id).order_by(col(CompletionRow.repetition))
    if case_ids is not None:
        query = query.where(col(CompletionRow.golden_case_id).in_(case_ids))
    rows = list(session.exec(query).all())
    scores: dict[int, list[ScoreRow]] = {}
    if rows:
        score_query = select(ScoreRow).where(col(ScoreRow.completion_id).in_([row.id for row in rows]))
        if not with_scores:
            score_query = score_query.where(ScoreRow.scorer_key == primary)
        for score in session.exec(score_query.order_by(col(ScoreRow.id))).all():
            scores.setdefault(score.completion_id, []).append(score)
    out: dict[int, list[AnswerPublic]] = {}
    for row in rows:
        mine = scores.get(row.id or 0, [])
        out.setdefault(row.golden_case_id, []).append(AnswerPublic(
            run_id=run_id, repetition=row.repetition, output=row.output, error=row.error, latency_ms=row.latency_ms,
            primary=next((s.value for s in mine if s.scorer_key == primary), None),
            scores=[ScorePublic(scorer=s.scorer_key, value=s.value, explanation=s.explanation, error=s.error)
                    for s in mine] if with_scores else []))
    return out


def _first(answers: dict[int, list[AnswerPublic]], case: CaseRow) -> AnswerPublic | None:
    found = answers.get(case.id or 0)
    return found[0] if found else None


def _failed(answer: AnswerPublic | None) -> bool:
    return answer is None or answer.error is not None or (answer.primary is not None and answer.primary < 1)


def case_page(session: Session, *, run_id: int, other_run_id: int | None = None, reference_run_id: int | None = None,
              segment: str | None = None, failed_only: bool = False, changed_only: bool = False, offset: int = 0,
              limit: int = 50) -> CasePagePublic:
    """Cases of run *run_id*, in golden-set order, next to run *other_run_id*, filtered, one page.

    Args:
        session: The open session.
        run_id: The run shown.
        other_run_id: The run shown beside it (another run of the same cycle).
        reference_run_id: The run *changed_only* compares answers with (cases matched by content).
        segment: Only cases with this tag.
        failed_only: Only cases the run failed (an error, or a primary score below 1).
        changed_only: Only cases whose answer differs from the reference run's.
        offset: Cases to skip, after filtering.
        limit: Page size.

    Raises:
        NotFound: no such run, or the other run is of another cycle.
    """
    run = get_run(session, run_id=run_id)
    cycle = session.get(CycleRow, run.cycle_id)
    assert cycle is not None
    primary = recipe(cycle).primary.key
    other = get_run(session, run_id=other_run_id) if other_run_id is not None else None
    if other is not None and other.cycle_id != run.cycle_id:
        raise NotFound(f"run {other_run_id} is not of cycle {run.cycle_id}; compare runs of one cycle")
    cases = list(session.exec(select(CaseRow).where(CaseRow.version_id == cycle.golden_set_version_id)
                              .order_by(col(CaseRow.position))).all())
    mine = _answers(session, run_id=run_id, primary=primary, case_ids=None, with_scores=False)
    theirs = _answers(session, run_id=other.id or 0, primary=primary, case_ids=None,
                      with_scores=False) if other else {}
    reference: dict[str, str | None] = {}
    if reference_run_id is not None:
        for completion, content_hash in session.exec(
                select(CompletionRow, CaseRow.content_hash)
                .join(CaseRow, col(CaseRow.id) == CompletionRow.golden_case_id)
                .where(CompletionRow.run_id == reference_run_id, CompletionRow.repetition == 0)).all():
            reference[content_hash] = completion.output
    kept: list[tuple[CaseRow, bool | None]] = []
    for case in cases:
        answer = _first(mine, case)
        changed = None
        if reference_run_id is not None and case.content_hash in reference:
            changed = (answer.output if answer else None) != reference[case.content_hash]
        if segment and segment not in case.tags:
            continue
        if failed_only and not _failed(answer):
            continue
        if changed_only and not changed:
            continue
        kept.append((case, changed))
    page = kept[offset:offset + limit]
    ids = [case.id or 0 for case, _ in page]
    mine = _answers(session, run_id=run_id, primary=primary, case_ids=ids, with_scores=True)
    theirs = _answers(session, run_id=other.id or 0, primary=primary, case_ids=ids, with_scores=True) if other else {}
    names = model_names(session, [run] + ([other] if other else []))
    return CasePagePublic(
        run_id=run_id, model=names[run.model_id], other_run_id=other.id if other else None,
        other_model=names[other.model_id] if other else None, primary_scorer=primary,
        tags=sorted({tag for case in cases for tag in case.tags}), total=len(kept), offset=offset,
        cases=[CaseRowPublic(case_id=case.case_key, tags=list(case.tags), answer=_first(mine, case),
                             other=_first(theirs, case), changed=changed) for case, changed in page])


def case_detail(session: Session, *, run_id: int, case_id: str, other_run_id: int | None = None) -> CaseDetailPublic:
    """Case *case_id* of run *run_id*'s golden-set version, with every repetition of both runs.

    Raises:
        NotFound: no such run or case.
    """
    run = get_run(session, run_id=run_id)
    cycle = session.get(CycleRow, run.cycle_id)
    assert cycle is not None
    case = session.exec(select(CaseRow).where(CaseRow.version_id == cycle.golden_set_version_id,
                                              CaseRow.case_key == case_id)).first()
    if case is None:
        raise NotFound(f"run {run_id}'s golden set has no case '{case_id}'")
    primary = recipe(cycle).primary.key
    mine = _answers(session, run_id=run_id, primary=primary, case_ids=[case.id or 0], with_scores=True)
    theirs = _answers(session, run_id=other_run_id, primary=primary, case_ids=[case.id or 0],
                      with_scores=True) if other_run_id is not None else {}
    return CaseDetailPublic(case_id=case_id, data=dict(case.data), answers=mine.get(case.id or 0, []),
                            other_answers=theirs.get(case.id or 0, []))
