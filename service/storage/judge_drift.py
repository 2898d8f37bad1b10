"""Judge drift's reads and writes: pinned reference verdicts, the cases they ask about, each judging."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, func, select

from evals.cases import Case, sha256_hex
from evals.drift.judge import PinnedVerdict
from service.storage.drift_tables import DriftRow
from service.storage.judge_drift_tables import JudgeDriftRow, JudgeReferenceRow
from service.storage.tables import CaseRow, CompletionRow, ModelRow, RunRow, ScoreRow, utcnow
from service.storage.upsert import upsert


def find_reference(session: Session, *, watch_id: int, scorer_key: str, source: str,
                   labels_hash: str = "") -> JudgeReferenceRow | None:
    """The watch's pinned set for the judge scorer *scorer_key* from *source*, if one was pinned."""
    return session.exec(select(JudgeReferenceRow).where(
        JudgeReferenceRow.watch_id == watch_id, JudgeReferenceRow.scorer_hash == sha256_hex(scorer_key),
        JudgeReferenceRow.source == source, JudgeReferenceRow.labels_hash == labels_hash)).first()


def pin_reference(session: Session, *, watch_id: int, judge_model_id: int, scorer_key: str, source: str,
                  labels_hash: str, cycle_id: int, verdicts: list[PinnedVerdict],
                  reference_kappa: float | None) -> JudgeReferenceRow:
    """Store a pinned set; a set already pinned for the same key (a re-run of the step) is kept as it is."""
    row = {"watch_id": watch_id, "judge_model_id": judge_model_id, "scorer_hash": sha256_hex(scorer_key),
           "scorer_key": scorer_key, "source": source, "labels_hash": labels_hash, "cycle_id": cycle_id,
           "verdicts": [verdict.to_data() for verdict in verdicts], "reference_kappa": reference_kappa,
           "created_at": utcnow()}
    upsert(session, JudgeReferenceRow, [row], keys=("watch_id", "scorer_hash", "source", "labels_hash"), update=())
    found = find_reference(session, watch_id=watch_id, scorer_key=scorer_key, source=source, labels_hash=labels_hash)
    assert found is not None
    return found


def set_reference_kappa(session: Session, *, reference_id: int, kappa: float | None) -> None:
    """Record the kappa a labelled set is held to (its first judging's)."""
    row = session.get(JudgeReferenceRow, reference_id)
    if row is not None and row.reference_kappa is None:
        row.reference_kappa = kappa
        session.add(row)


def model_id(session: Session, *, name: str) -> int | None:
    """The id of the live model named *name*."""
    return session.exec(select(ModelRow.id).where(ModelRow.name == name, col(ModelRow.deleted_at).is_(None))).first()


def first_cycle_verdicts(session: Session, *, cycle_id: int, scorer_key: str, pairwise: bool) -> list[PinnedVerdict]:
    """The judge's verdicts in cycle *cycle_id* on answers the judge was asked about (repetition 0).

    A rubric judge's on the production run's answers (a candidate's when production has none); a
    pairwise judge's on the first candidate run with a verdict, beside production's answers. Answers
    that failed, and pairs where production failed (the candidate wins unasked), are not judge verdicts.
    """
    rows = session.exec(
        select(ScoreRow, CompletionRow, RunRow, CaseRow)
        .join(CompletionRow, col(CompletionRow.id) == ScoreRow.completion_id)
        .join(RunRow, col(RunRow.id) == CompletionRow.run_id)
        .join(CaseRow, col(CaseRow.id) == CompletionRow.golden_case_id)
        .where(RunRow.cycle_id == cycle_id, ScoreRow.scorer_hash == sha256_hex(scorer_key),
               CompletionRow.repetition == 0, col(ScoreRow.value).is_not(None), col(CompletionRow.output).is_not(None),
               col(CompletionRow.error).is_(None))
        .order_by(col(RunRow.id), col(CompletionRow.id))).all()
    production = _production_answers(session, cycle_id=cycle_id) if pairwise else {}
    by_run: dict[int, list[PinnedVerdict]] = {}
    roles: dict[int, str] = {}
    for score, completion, run, case in rows:
        answer, run_id = completion.output, run.id or 0
        if pairwise and (run.role != "candidate" or production.get(completion.golden_case_id) is None):
            continue
        assert score.value is not None and answer is not None
        by_run.setdefault(run_id, []).append(PinnedVerdict(
            case_id=case.case_key, content_hash=case.content_hash, answer=answer, value=float(score.value),
            production=production.get(completion.golden_case_id) if pairwise else None))
        roles[run_id] = run.role
    ordered = sorted(by_run, key=lambda run_id: (roles[run_id] != "production", run_id))
    return by_run[ordered[0]] if ordered else []


def _production_answers(session: Session, *, cycle_id: int) -> dict[int, str | None]:
    rows = session.exec(select(CompletionRow.golden_case_id, CompletionRow.output, CompletionRow.error)
                        .join(RunRow, col(RunRow.id) == CompletionRow.run_id)
                        .where(RunRow.cycle_id == cycle_id, RunRow.role == "production",
                               CompletionRow.repetition == 0)).all()
    return {case_row_id: output if error is None else None for case_row_id, output, error in rows}


def cases_of_version(session: Session, *, version_id: int) -> dict[str, tuple[str, Case]]:
    """Case id -> (content hash, case) of a golden-set version."""
    rows = session.exec(select(CaseRow).where(CaseRow.version_id == version_id)).all()
    return {row.case_key: (row.content_hash, Case.from_data(row.data)) for row in rows}


def cases_by_hash(session: Session, *, content_hashes: set[str]) -> dict[str, Case]:
    """Content hash -> the case (any version holding it: the content is the same)."""
    rows = session.exec(select(CaseRow).where(col(CaseRow.content_hash).in_(content_hashes))).all()
    return {row.content_hash: Case.from_data(row.data) for row in rows}


def due(session: Session, *, reference: JudgeReferenceRow, cycle_id: int, every: int) -> bool:
    """True when the pinned set should be judged in *cycle_id*: not yet judged there, and *every*
    checked cycles of the watch (this one included) have passed since it last was."""
    done = session.exec(select(JudgeDriftRow.cycle_id).where(JudgeDriftRow.reference_id == reference.id)
                        .order_by(col(JudgeDriftRow.cycle_id).desc())).all()
    if cycle_id in done:
        return False
    since = max([reference.cycle_id, *(c for c in done if c < cycle_id)])
    passed = session.exec(select(func.count(func.distinct(DriftRow.cycle_id))).where(
        DriftRow.watch_id == reference.watch_id, col(DriftRow.cycle_id) > since,
        col(DriftRow.cycle_id) <= cycle_id)).one()
    return int(passed) >= every


def save_judging(session: Session, *, reference: JudgeReferenceRow, cycle_id: int, document: dict[str, Any]) -> None:
    """Store (or replace) the judging of *reference* in *cycle_id*, as `turnout drift --json` prints it."""
    row = {"watch_id": reference.watch_id, "cycle_id": cycle_id, "reference_id": reference.id,
           "judge_model_id": reference.judge_model_id, "kappa": document["judge_kappa"],
           "ci_low": document["judge_ci_low"], "ci_high": document["judge_ci_high"],
           "n_verdicts": document["judge_n_verdicts"], "n_failed": document["judge_n_failed"],
           "verdict": document["verdict"], "reasons": document["reasons"], "document": document,
           "created_at": utcnow()}
    upsert(session, JudgeDriftRow, [row], keys=("cycle_id", "reference_id"),
           update=tuple(key for key in row if key not in ("cycle_id", "reference_id")))


def judge_rows(session: Session, *, watch_id: int, cycle_id: int) -> list[tuple[str, JudgeDriftRow]]:
    """Per judge model of the watch, its latest judging up to *cycle_id*, with the judge's name."""
    rows = session.exec(select(JudgeDriftRow, ModelRow.name)
                        .join(ModelRow, col(ModelRow.id) == JudgeDriftRow.judge_model_id)
                        .where(JudgeDriftRow.watch_id == watch_id, col(JudgeDriftRow.cycle_id) <= cycle_id)
                        .order_by(col(JudgeDriftRow.cycle_id).desc(), col(JudgeDriftRow.id).desc())).all()
    latest: dict[str, JudgeDriftRow] = {}
    for row, name in rows:
        latest.setdefault(name, row)
    return sorted(latest.items())


def drifted_judges(session: Session, *, cycle_id: int) -> dict[str, str]:
    """Judge models found drifted when judged in *cycle_id*, name -> the reasons, joined."""
    rows = session.exec(select(JudgeDriftRow, ModelRow.name)
                        .join(ModelRow, col(ModelRow.id) == JudgeDriftRow.judge_model_id)
                        .where(JudgeDriftRow.cycle_id == cycle_id, JudgeDriftRow.verdict == "drifted")
                        .order_by(col(JudgeDriftRow.id))).all()
    return {name: "; ".join(str(reason.get("message", "")) for reason in row.reasons) for row, name in rows}
