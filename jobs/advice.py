"""The advisor's step: the evidence of a cycle, the recommendation, and its row with the announcement.

Runs at the end of the analysis step of every cycle that finishes (inline in `turnout run`, and in
`jobs.analyze_cycle` on workers), and again on `turnout advise WATCH --recompute`, which re-advises
the watch's latest cycle with the current policy and model declarations from the stored scores,
without a new cycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, select

from evals.advisor import (
    AdvisorPolicy,
    CandidateEvidence,
    FailureCounts,
    LatencyEvidence,
    ModelEvidence,
    TokenMix,
    advise,
    quality_from,
)
from evals.cases import sha256_hex
from evals.models import ModelSpec
from evals.pairing import pair_runs
from evals.recipe import StoredWatch
from evals.stats import PairedComparison, Resampler, compare_pairs
from service.storage import advice, drift, leases, metrics, runs
from service.storage.db import session_scope
from service.storage.public import RecommendationPublic
from service.storage.tables import ComparisonRow, ModelRow, RunRow, WatchRow


def advise_cycle(
    cycle_id: int,
    *,
    comparisons: Mapping[int, PairedComparison] | None = None,
    current: bool = False,
    fence: leases.StepFence | None = None,
) -> RecommendationPublic | None:
    """Advise after cycle *cycle_id* and store the recommendation with its announcement.

    Args:
        cycle_id: A cycle whose runs are over and analysed.
        comparisons: Candidate run id -> its comparison against production on the primary scorer,
            as the analysis step just computed; None computes them from the stored scores (and
            stores them again, so the recommendation's comparison ids stay current).
        current: Use the watch's current policy and model declarations instead of the cycle's recipe
            (`--recompute`).
        fence: The analysis step's lease: the recommendation (and its alert) is committed only while it is held.

    Returns:
        The stored recommendation; None when the cycle has no production run to compare with.
    """
    with session_scope() as session:
        cycle = runs.get_cycle(session, cycle_id=cycle_id)
        recipe = runs.recipe(cycle)
        policy = _current_policy(session, cycle.watch_id) if current else recipe.watch.policy
        cycle_runs = runs.cycle_runs(session, cycle_id=cycle_id)
        production = next((run for run in cycle_runs if run.role == "production"), None)
        if production is None or production.state == "failed":
            return None
        key = recipe.primary.key
        candidates = [run for run in cycle_runs if run.role == "candidate"]
        leases.fence(session, fence)
        if comparisons is None:
            table_a = metrics.score_table(session, run_id=production.id or 0, scorer_key=key)
            comparisons = {}
            resampler = Resampler()
            for run in candidates:
                pairs = pair_runs(table_a, metrics.score_table(session, run_id=run.id or 0, scorer_key=key))
                comparisons[run.id or 0] = compare_pairs(pairs, margin=policy.margin, confidence=policy.confidence,
                                                        resampler=resampler)
                metrics.save_comparison(session, run_a_id=production.id or 0, run_b_id=run.id or 0,
                                        scorer_key=key, comparison=comparisons[run.id or 0])
        specs = {run.id: _spec(session, run, current=current) for run in cycle_runs}
        evidence = {run.id: _model_evidence(specs[run.id], advice.run_facts(session, run=run)) for run in cycle_runs}
        recommendation = advise(
            production=evidence[production.id],
            candidates=[CandidateEvidence(model=evidence[run.id], quality=quality_from(comparisons[run.id or 0]))
                        for run in candidates if (run.id or 0) in comparisons],
            policy=policy, golden_set_class=advice.golden_set_privacy(session, cycle_id=cycle_id),
            drifted=drift.drifted_models(session, cycle_id=cycle_id))
        inputs = {"scorer": key, "policy": policy.model_dump(mode="json"),
                  "comparisons": _comparison_ids(session, production, candidates, key),
                  "prices": {spec.name: spec.pricing.model_dump(mode="json", exclude_none=True)
                             for spec in specs.values()},
                  "recomputed": current}
        return advice.save_recommendation(session, cycle_id=cycle_id, recommendation=recommendation, inputs=inputs)


def advise_cycle_again(cycle_id: int) -> RecommendationPublic:
    """Advise an analysed cycle again with its watch's current policy and models, from the stored scores, as
    `turnout advise WATCH --cycle ID --recompute` does (the dashboard's and the API's "advise again").

    Raises:
        NotFound: no such cycle.
        InvalidState: the cycle was never advised (it failed or is not analysed yet), or its production run
            is gone or failed since.
    """
    with session_scope() as session:
        runs.get_cycle(session, cycle_id=cycle_id)  # NotFound names it
        if advice.cycle_recommendation(session, cycle_id=cycle_id) is None:
            raise runs.InvalidState(f"cycle {cycle_id} has no recommendation to make again: only a cycle that "
                                    "finished and was analysed has one")
    recommendation = advise_cycle(cycle_id, current=True)
    if recommendation is None:
        raise runs.InvalidState(f"cycle {cycle_id} has no production run to compare with any more")
    return recommendation


def latest_cycle_id(watch: str) -> int:
    """The id of the watch's latest advised cycle (what `--recompute` re-advises)."""
    with session_scope() as session:
        return advice.recommendation(session, watch_name=watch).cycle_id


def _failures(counts: Counter[str]) -> FailureCounts:
    return FailureCounts(errors=counts.get("errors", 0), context_length=counts.get("context_length", 0),
                         refusals=counts.get("refusals", 0))


def _model_evidence(spec: ModelSpec, facts: advice.RunFacts) -> ModelEvidence:
    mix = None
    if facts.input_tokens is not None and facts.output_tokens is not None:
        mix = TokenMix(input_tokens=facts.input_tokens, output_tokens=facts.output_tokens)
    return ModelEvidence(
        spec=spec, failures=_failures(facts.failures),
        segment_failures={tag: _failures(counts) for tag, counts in facts.segment_failures.items()},
        latency=LatencyEvidence(p95_ms=facts.p95_ms, ttft_p95_ms=facts.ttft_p95_ms,
                                declared_p95_ms=spec.latency_p95_ms),
        mix=mix, capacity_rps=spec.pricing.capacity_rps, measured_rps=facts.measured_rps)


def _spec(session: Session, run: RunRow, *, current: bool) -> ModelSpec:
    if current:
        row = session.get(ModelRow, run.model_id)
        if row is not None and row.deleted_at is None:
            return ModelSpec.model_validate(row.spec)
    return ModelSpec.model_validate(run.model_spec)


def _current_policy(session: Session, watch_id: int) -> AdvisorPolicy:
    watch = session.get(WatchRow, watch_id)
    assert watch is not None
    return StoredWatch.model_validate(watch.spec).policy


def _comparison_ids(session: Session, production: RunRow, candidates: list[RunRow], key: str) -> dict[str, Any]:
    rows = session.exec(select(ComparisonRow.run_b_id, ComparisonRow.id).where(
        ComparisonRow.run_a_id == production.id, ComparisonRow.scorer_hash == sha256_hex(key))).all()
    ids = dict(rows)
    names = runs.model_names(session, candidates)
    return {names.get(run.model_id, str(run.model_id)): ids.get(run.id or 0) for run in candidates}
