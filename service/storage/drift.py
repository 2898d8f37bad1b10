"""Drift's reads and writes: reference runs, pinned baselines, per-case samples, and stored verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from evals.drift.signals import CaseRecord, RunSample
from evals.errors import BadReference
from service.storage.drift_tables import DriftPinRow, DriftRow
from service.storage.judge_drift import drifted_judges
from service.storage.metrics import score_table
from service.storage.runs import NotFound, get_cycle, get_run
from service.storage.tables import (
    CaseRow,
    CompletionRow,
    CycleRow,
    GoldenSetVersionRow,
    ModelRow,
    RunRow,
    WatchRow,
    utcnow,
)
from service.storage.upsert import upsert


def watch_row(session: Session, *, watch_name: str) -> WatchRow:
    """The live watch named *watch_name*."""
    watch = session.exec(select(WatchRow).where(WatchRow.name == watch_name,
                                                col(WatchRow.deleted_at).is_(None))).first()
    if watch is None:
        raise NotFound(f"no watch named '{watch_name}'; `turnout apply` declares it")
    return watch


def pin_reference(session: Session, *, watch_name: str, run_id: int) -> DriftPinRow:
    """Pin run *run_id* as the baseline its model is compared with in watch *watch_name*.

    Raises:
        NotFound: no such watch or run.
        BadReference: the run replayed another golden set, or has no answered case.
    """
    watch = watch_row(session, watch_name=watch_name)
    run = get_run(session, run_id=run_id)
    cycle = get_cycle(session, cycle_id=run.cycle_id)
    version = session.get(GoldenSetVersionRow, cycle.golden_set_version_id)
    if version is None or version.golden_set_id != watch.golden_set_id:
        raise BadReference(f"run {run_id} replayed another golden set than watch '{watch_name}': pin a run of one "
                           f"of its cycles (`turnout drift {watch_name} --json` lists them)", field="--pin")
    if run.n_done - run.n_errors <= 0:
        raise BadReference(f"run {run_id} has no answered case ({run.state}, {run.n_errors} errors): pin a run that "
                           "answered", field="--pin")
    row = {"watch_id": watch.id, "model_id": run.model_id, "run_id": run_id, "created_at": utcnow()}
    upsert(session, DriftPinRow, [row], keys=("watch_id", "model_id"), update=("run_id", "created_at"))
    pin = session.exec(select(DriftPinRow).where(DriftPinRow.watch_id == watch.id,
                                                 DriftPinRow.model_id == run.model_id)).one()
    return pin


def reference_runs(session: Session, *, run: RunRow, k: int) -> list[RunRow]:
    """The runs *run* is compared with, oldest first: its pinned baseline, else the last *k* finished
    runs of its model in earlier cycles of the watch on the same golden-set version, else (a new
    version) the last *k* on any version (they pair on the cases whose content hash is unchanged)."""
    cycle = get_cycle(session, cycle_id=run.cycle_id)
    pin = session.exec(select(DriftPinRow).where(DriftPinRow.watch_id == cycle.watch_id,
                                                 DriftPinRow.model_id == run.model_id)).first()
    if pin is not None and pin.run_id != run.id:
        return [get_run(session, run_id=pin.run_id)]
    earlier = (select(RunRow).join(CycleRow, col(CycleRow.id) == RunRow.cycle_id)
               .where(CycleRow.watch_id == cycle.watch_id, RunRow.model_id == run.model_id, RunRow.state == "finished",
                      col(RunRow.cycle_id) < run.cycle_id)
               .order_by(col(RunRow.cycle_id).desc()).limit(k))
    # Only the k wanted are read (a watch's history holds hundreds of runs of each model).
    chosen = (session.exec(earlier.where(CycleRow.golden_set_version_id == cycle.golden_set_version_id)).all()
              or session.exec(earlier).all())
    return list(reversed(chosen))


def run_sample(session: Session, *, run: RunRow, scorer_key: str) -> RunSample:
    """What drift reads of *run*: its primary scores and each case's first answer."""
    table = score_table(session, run_id=run.id or 0, scorer_key=scorer_key)
    rows = session.exec(select(CompletionRow, CaseRow.content_hash)
                        .join(CaseRow, col(CaseRow.id) == CompletionRow.golden_case_id)
                        .where(CompletionRow.run_id == run.id, CompletionRow.repetition == 0)).all()
    cases, fingerprints, served = {}, set(), set()
    for row, key in rows:
        values = table.values.get(key)
        cases[key] = CaseRecord(output=row.output, latency_ms=row.latency_ms, ttft_ms=row.ttft_ms,
                                input_tokens=row.input_tokens, output_tokens=row.output_tokens,
                                score=sum(values) / len(values) if values else None)
        if row.fingerprint:
            fingerprints.add(row.fingerprint)
        if row.served_model:
            served.add(row.served_model)
    return RunSample(run_id=run.id or 0, scores=table, cases=cases, fingerprints=frozenset(fingerprints),
                     served_models=frozenset(served))


def save_drift(session: Session, *, run: RunRow, watch_id: int, document: dict[str, Any],
               report_key: str | None) -> None:
    """Store (or replace) the drift check of *run*'s model in its cycle."""
    row = {"watch_id": watch_id, "cycle_id": run.cycle_id, "model_id": run.model_id, "run_id": run.id,
           "verdict": document["verdict"], "reasons": document["reasons"],
           "reference_run_ids": document["reference_run_ids"], "score_change": document["score_change"],
           "ci_low": document["ci_low"], "ci_high": document["ci_high"],
           "output_change_rate": document["output_change_rate"],
           "expected_change_rate": document["expected_change_rate"],
           "fingerprint_changed": document["fingerprint_changed"], "drift_share": document["drift_share"],
           "drifted_columns": document["drifted_columns"], "report_key": report_key, "document": document,
           "created_at": utcnow()}
    upsert(session, DriftRow, [row], keys=("cycle_id", "model_id"),
           update=tuple(key for key in row if key not in ("cycle_id", "model_id")))


def drift_rows(session: Session, *, watch_name: str, cycle_id: int | None = None,
               model: str | None = None) -> tuple[int, list[tuple[str, DriftRow]]]:
    """The drift checks of one cycle of the watch (default: its latest checked one), with model names.

    Raises:
        NotFound: no such watch, no check for that cycle, or no such model among them.
    """
    watch = watch_row(session, watch_name=watch_name)
    if cycle_id is None:
        cycle_id = session.exec(select(DriftRow.cycle_id).where(DriftRow.watch_id == watch.id)
                                .order_by(col(DriftRow.cycle_id).desc())).first()
        if cycle_id is None:
            raise NotFound(f"watch '{watch_name}' has no drift check yet; `turnout run {watch_name}` makes one")
    rows = session.exec(select(DriftRow, ModelRow.name).join(ModelRow, col(ModelRow.id) == DriftRow.model_id)
                        .where(DriftRow.watch_id == watch.id, DriftRow.cycle_id == cycle_id)
                        .order_by(col(DriftRow.id))).all()
    if not rows:
        raise NotFound(f"cycle {cycle_id} of watch '{watch_name}' has no drift check")
    named = [(name, row) for row, name in rows if model is None or name == model]
    if not named:
        raise NotFound(f"model '{model}' has no drift check in cycle {cycle_id}; checked: "
                       f"{', '.join(name for _, name in rows)}")
    return cycle_id, named


def expired_reports(session: Session, *, watch_id: int, keep_days: int, now: datetime) -> Sequence[DriftRow]:
    """Checks of the watch whose report is older than *keep_days* and still stored."""
    return session.exec(select(DriftRow).where(DriftRow.watch_id == watch_id, col(DriftRow.report_key).is_not(None),
                                               col(DriftRow.created_at) < now - timedelta(days=keep_days))).all()


def drifted_models(session: Session, *, cycle_id: int) -> dict[str, str]:
    """Models found drifted in *cycle_id*, name → what changed (the verdict's reasons, joined); a judge
    whose re-judging in *cycle_id* drifted (`judge_drift.drifted_judges`) too."""
    rows = session.exec(select(DriftRow, ModelRow.name).join(ModelRow, col(ModelRow.id) == DriftRow.model_id)
                        .where(DriftRow.cycle_id == cycle_id, DriftRow.verdict == "drifted")
                        .order_by(col(DriftRow.id))).all()
    found = {name: "; ".join(str(reason.get("message", reason.get("kind", ""))) for reason in row.reasons)
             for row, name in rows}
    return found | drifted_judges(session, cycle_id=cycle_id)


def simulated_runs(session: Session, *, run_ids: Sequence[int]) -> set[int]:
    """The runs among *run_ids* whose model was simulated (`kind: sim`) when they ran."""
    if not run_ids:
        return set()
    rows = session.exec(select(RunRow).where(col(RunRow.id).in_(list(run_ids)))).all()
    return {row.id for row in rows if row.id is not None and row.model_spec.get("kind") == "sim"}
