"""Per-case score tables for the statistics, and the stored metrics and comparisons they produce."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from evals.cases import sha256_hex
from evals.metrics import LatencySummary
from evals.pairing import ScoreTable
from service.storage.public import IntervalPublic
from service.storage.runs import get_run, run_case_sample
from service.storage.tables import (
    CaseRow,
    ComparisonRow,
    CompletionRow,
    CycleRow,
    RunMetricRow,
    RunRow,
    ScoreRow,
    utcnow,
)
from service.storage.upsert import upsert

if TYPE_CHECKING:  # the statistics stack is slow to import; readers of stored metrics do not need it
    from evals.stats import Interval, PairedComparison


def stored_scorer_keys(session: Session, *, run_id: int) -> list[str]:
    """The scorer keys the run has scores for (its recipe's, and any `turnout rescore` added), sorted."""
    return sorted(session.exec(
        select(ScoreRow.scorer_key).distinct()
        .join(CompletionRow, col(CompletionRow.id) == ScoreRow.completion_id)
        .where(col(CompletionRow.run_id) == run_id)).all())


def score_table(session: Session, *, run_id: int, scorer_key: str) -> ScoreTable:
    """The run's values on *scorer_key*, with each case's tags and cluster, and the content hashes of
    every case of the golden-set version it replayed (so runs of two versions pair on shared cases) and,
    when its model replayed a case sample, the cases of that sample (the others are not paired)."""
    # sqlmodel's select is typed for at most four columns: SQLAlchemy's own for five.
    rows = session.execute(
        sa.select(col(CaseRow.content_hash), col(CaseRow.tags), col(CaseRow.data), col(ScoreRow.value),
                  col(ScoreRow.error))
        .join(CompletionRow, col(CompletionRow.golden_case_id) == CaseRow.id)
        .join(ScoreRow, col(ScoreRow.completion_id) == CompletionRow.id)
        .where(col(CompletionRow.run_id) == run_id, col(ScoreRow.scorer_hash) == sha256_hex(scorer_key))
    ).all()
    values: dict[str, list[float]] = defaultdict(list)
    unscorable: set[str] = set()
    reasons: dict[str, str] = {}
    tags: dict[str, list[str]] = {}
    clusters: dict[str, str | None] = {}
    for content_hash, case_tags, data, value, error in rows:
        tags[content_hash] = list(case_tags)
        clusters[content_hash] = data.get("cluster")
        if value is None:
            unscorable.add(content_hash)
            if error:
                reasons.setdefault(content_hash, error)
        else:
            values[content_hash].append(float(value))
    version_cases = session.exec(
        select(CaseRow.content_hash)
        .join(CycleRow, col(CycleRow.golden_set_version_id) == CaseRow.version_id)
        .join(RunRow, col(RunRow.cycle_id) == CycleRow.id)
        .where(RunRow.id == run_id)
    ).all()
    return ScoreTable(values=dict(values), unscorable=frozenset(unscorable), reasons=reasons, tags=tags,
                      clusters=clusters, cases=frozenset(version_cases),
                      sample=run_case_sample(session, run=get_run(session, run_id=run_id)))


def save_run_metrics(session: Session, *, run_id: int, scorer_key: str, intervals: Mapping[str, Interval]) -> None:
    """Store a run's intervals on one scorer, by segment ("" is the whole run)."""
    now = utcnow()
    rows = [{"run_id": run_id, "scorer_hash": sha256_hex(scorer_key), "scorer_key": scorer_key, "segment": segment,
             "mean": interval.mean, "ci_low": interval.ci_low, "ci_high": interval.ci_high, "n": interval.n,
             "n_clusters": interval.n_clusters, "method": interval.method, "created_at": now}
            for segment, interval in intervals.items()]
    upsert(session, RunMetricRow, rows, keys=("run_id", "scorer_hash", "segment"),
           update=("mean", "ci_low", "ci_high", "n", "n_clusters", "method", "created_at"))


def run_metrics(session: Session, *, run_id: int, scorer_key: str) -> dict[str, IntervalPublic]:
    """Stored intervals of a run on one scorer, by segment ("" is the whole run)."""
    rows = session.exec(select(RunMetricRow).where(RunMetricRow.run_id == run_id,
                                                   RunMetricRow.scorer_hash == sha256_hex(scorer_key))).all()
    return {row.segment: IntervalPublic(mean=row.mean, ci_low=row.ci_low, ci_high=row.ci_high, n=row.n)
            for row in rows}


def save_latency(session: Session, *, run_id: int, latency: LatencySummary, ttft_p95_ms: float | None = None) -> None:
    """Store a run's latency percentiles (and its p95 time to first token), so readers never recompute them."""
    run = get_run(session, run_id=run_id)
    run.latency_p50_ms, run.latency_p95_ms, run.ttft_p95_ms = latency.p50_ms, latency.p95_ms, ttft_p95_ms
    session.add(run)


def comparison_document(*, run_a_id: int, run_b_id: int, scorer_key: str,
                        comparison: PairedComparison) -> dict[str, Any]:
    """The JSON form of a comparison of run B against run A, as `turnout compare --json` prints it: with
    `unscorable`, how many cases the scorer could not judge on each side and why, and `left_out`, how many
    cases were not paired, by reason (`unscorable`, `not_in_other_version`, `not_sampled`); neither is in
    `n_pairs`."""
    unscorable = {"a": comparison.unscorable_a, "b": comparison.unscorable_b,
                  "reasons": dict(comparison.unscorable_reasons)}
    return {"run_a": run_a_id, "run_b": run_b_id, "scorer": scorer_key, **comparison.to_dict(),
            "unscorable": unscorable, "left_out": dict(comparison.left_out)}


def save_comparison(session: Session, *, run_a_id: int, run_b_id: int, scorer_key: str,
                    comparison: PairedComparison) -> None:
    """Store the paired comparison of run B against run A on one scorer."""
    document = comparison_document(run_a_id=run_a_id, run_b_id=run_b_id, scorer_key=scorer_key, comparison=comparison)
    row = {"run_a_id": run_a_id, "run_b_id": run_b_id, "scorer_hash": sha256_hex(scorer_key),
           "scorer_key": scorer_key, "margin": comparison.margin, "n_pairs": comparison.n_pairs,
           "difference": comparison.difference, "ci_low": comparison.ci_low, "ci_high": comparison.ci_high,
           "p_value": comparison.p_value, "noninferiority_p": comparison.noninferiority_p,
           "document": document, "created_at": utcnow()}
    upsert(session, ComparisonRow, [row], keys=("run_a_id", "run_b_id", "scorer_hash"),
           update=("margin", "n_pairs", "difference", "ci_low", "ci_high", "p_value", "noninferiority_p",
                   "document", "created_at"))
