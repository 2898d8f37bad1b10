"""Per-case score tables for the statistics, and the stored metrics and comparisons they produce."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from evals.cases import sha256_hex
from service.storage.tables import CaseRow, ComparisonRow, CompletionRow, RunMetricRow, ScoreRow, utcnow
from service.storage.upsert import upsert


@dataclass
class ScoreTable:
    """One run's values on one scorer, keyed by case content hash (so versions pair on unchanged cases)."""

    values: dict[str, list[float]] = field(default_factory=dict)
    """Case hash → values of its repetitions (unscorable ones left out)."""
    unscorable: set[str] = field(default_factory=set)
    """Case hashes the scorer could not judge: left out of pairs on both sides."""
    tags: dict[str, list[str]] = field(default_factory=dict)
    clusters: dict[str, str | None] = field(default_factory=dict)


def score_table(session: Session, *, run_id: int, scorer_key: str) -> ScoreTable:
    """The run's values on *scorer_key*, with each case's tags and cluster."""
    rows = session.exec(
        select(CaseRow.content_hash, CaseRow.tags, CaseRow.data, ScoreRow.value)
        .join(CompletionRow, col(CompletionRow.golden_case_id) == CaseRow.id)
        .join(ScoreRow, col(ScoreRow.completion_id) == CompletionRow.id)
        .where(CompletionRow.run_id == run_id, ScoreRow.scorer_hash == sha256_hex(scorer_key))
    ).all()
    table = ScoreTable()
    values: dict[str, list[float]] = defaultdict(list)
    for content_hash, tags, data, value in rows:
        table.tags[content_hash] = list(tags)
        table.clusters[content_hash] = data.get("cluster")
        if value is None:
            table.unscorable.add(content_hash)
        else:
            values[content_hash].append(float(value))
    table.values = dict(values)
    return table


def save_run_metrics(session: Session, *, run_id: int, scorer_key: str, intervals: dict[str, dict[str, Any]]) -> None:
    """Store a run's intervals on one scorer: `{segment: Interval.to_dict()}` ("" is the whole run)."""
    now = utcnow()
    rows = [{"run_id": run_id, "scorer_hash": sha256_hex(scorer_key), "scorer_key": scorer_key, "segment": segment,
             "mean": interval["mean"], "ci_low": interval["ci_low"], "ci_high": interval["ci_high"],
             "n": interval["n"], "n_clusters": interval.get("n_clusters"), "method": interval.get("method", "none"),
             "created_at": now}
            for segment, interval in intervals.items()]
    upsert(session, RunMetricRow, rows, keys=("run_id", "scorer_hash", "segment"),
           update=("mean", "ci_low", "ci_high", "n", "n_clusters", "method", "created_at"))


def run_metrics(session: Session, *, run_id: int, scorer_key: str) -> dict[str, dict[str, Any]]:
    """Stored intervals of a run on one scorer: `{segment: {"mean", "ci_low", "ci_high", "n"}}`."""
    rows = session.exec(select(RunMetricRow).where(RunMetricRow.run_id == run_id,
                                                   RunMetricRow.scorer_hash == sha256_hex(scorer_key))).all()
    return {row.segment: {"mean": row.mean, "ci_low": row.ci_low, "ci_high": row.ci_high, "n": row.n}
            for row in rows}


def save_comparison(session: Session, *, run_a_id: int, run_b_id: int, scorer_key: str,
                    document: dict[str, Any]) -> None:
    """Store the paired comparison of run B against run A on one scorer."""
    row = {"run_a_id": run_a_id, "run_b_id": run_b_id, "scorer_hash": sha256_hex(scorer_key),
           "scorer_key": scorer_key, "margin": document["margin"], "n_pairs": document["n_pairs"],
           "difference": document["difference"], "ci_low": document["ci_low"], "ci_high": document["ci_high"],
           "p_value": document["p_value"], "noninferiority_p": document["noninferiority_p"],
           "document": document, "created_at": utcnow()}
    upsert(session, ComparisonRow, [row], keys=("run_a_id", "run_b_id", "scorer_hash"),
           update=("margin", "n_pairs", "difference", "ci_low", "ci_high", "p_value", "noninferiority_p",
                   "document", "created_at"))
