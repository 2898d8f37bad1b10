"""One case of a run in full: the dashboard's case page (the whole prompt, every repetition of two runs).

`service.storage.sidebyside` pages a cycle's cases (repetition 0); this reads one case with all its
repetitions and every score's explanation.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from service.storage.public import FrozenPublic
from service.storage.runs import NotFound, get_run, recipe
from service.storage.tables import CaseRow, CompletionRow, CycleRow, ScoreRow


class ScorePublic(FrozenPublic):
    """One scorer's judgement, with why."""

    scorer: str
    value: float | None
    explanation: str | None
    error: str | None


class AnswerPublic(FrozenPublic):
    """One model's answer to a case."""

    run_id: int
    repetition: int
    output: str | None
    error: str | None
    latency_ms: float | None
    primary: float | None
    scores: list[ScorePublic]


class CaseDetailPublic(FrozenPublic):
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
