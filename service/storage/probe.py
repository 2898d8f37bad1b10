"""The distribution probe's reads and writes: what a run still has to sample, its samples, and the tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from evals.drift.mmd import MMDResult, ProbeSample
from evals.drift.probe import probe_prompts
from evals.drift.settings import ProbeSettings
from evals.results import Completion
from service.storage.drift_tables import ProbeSampleRow, ProbeTestRow
from service.storage.runs import CaseItem, cycle_cases, get_run
from service.storage.tables import CaseRow, RunRow, utcnow
from service.storage.upsert import insert_ignore, upsert


def plan_probe(session: Session, *, run_id: int, settings: ProbeSettings) -> list[tuple[CaseItem, int]]:
    """The (case, sample) pairs run *run_id*'s probe has not stored yet (a retry samples only those)."""
    run = get_run(session, run_id=run_id)
    cases = cycle_cases(session, cycle_id=run.cycle_id)
    chosen = set(probe_prompts((item.content_hash for item in cases), cases=settings.cases))
    done = set(session.exec(select(ProbeSampleRow.golden_case_id, ProbeSampleRow.sample)
                            .where(ProbeSampleRow.run_id == run_id)).all())
    return [(item, sample) for item in cases if item.content_hash in chosen for sample in range(settings.samples)
            if (item.row_id, sample) not in done]


def save_probe_samples(session: Session, *, run_id: int, case_rows: dict[str, int], completions: Sequence[Completion],
                       temperature: float) -> int:
    """Store the probe's answers (`Completion.repetition` is the sample's number); ones stored are kept.

    Args:
        session: The open session.
        run_id: The run sampled.
        case_rows: Case id -> its `golden_case` row id, for the cases sampled.
        completions: The answers, or the errors that took their place.
        temperature: What they were sampled at.

    Returns:
        How many were new.
    """
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {"run_id": run_id, "golden_case_id": case_rows[c.case_id], "sample": c.repetition, "temperature": temperature,
         "output": c.output, "error": c.error, "error_kind": c.error_kind, "latency_ms": c.latency_ms,
         "input_tokens": c.input_tokens, "output_tokens": c.output_tokens, "fingerprint": c.fingerprint,
         "cost_usd": c.cost_usd, "created_at": now} for c in completions]
    return insert_ignore(session, ProbeSampleRow, rows, keys=("run_id", "golden_case_id", "sample"))


def probe_samples(session: Session, *, run_ids: Sequence[int], temperature: float) -> list[ProbeSample]:
    """The answered samples of *run_ids* at *temperature*, keyed by their case's content hash (so runs on
    two golden-set versions meet on the cases that did not change)."""
    if not run_ids:
        return []
    rows = session.exec(select(CaseRow.content_hash, ProbeSampleRow.output)
                        .join(CaseRow, col(CaseRow.id) == ProbeSampleRow.golden_case_id)
                        .where(col(ProbeSampleRow.run_id).in_(run_ids), ProbeSampleRow.temperature == temperature,
                               col(ProbeSampleRow.output).is_not(None))).all()
    return [ProbeSample(prompt=key, text=output) for key, output in rows if output is not None]


def save_probe_test(session: Session, *, run: RunRow, watch_id: int, reference_run_ids: Sequence[int],
                    result: MMDResult, temperature: float, rejected: bool) -> None:
    """Store (or replace) the probe's test of *run*'s model in its cycle."""
    row = {"watch_id": watch_id, "cycle_id": run.cycle_id, "model_id": run.model_id, "run_id": run.id,
           "reference_run_ids": list(reference_run_ids), "p_value": result.p_value, "statistic": result.statistic,
           "n_current": result.n_current, "n_reference": result.n_reference, "n_prompts": result.n_prompts,
           "permutations": result.permutations, "temperature": temperature, "rejected": rejected,
           "created_at": utcnow()}
    upsert(session, ProbeTestRow, [row], keys=("cycle_id", "model_id"),
           update=tuple(key for key in row if key not in ("cycle_id", "model_id")))
