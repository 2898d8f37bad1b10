"""The analysis step: intervals per run and segment, latency percentiles, and paired comparisons of
each candidate against production, on every scorer of the cycle; stored so readers never recompute them."""

from __future__ import annotations

from evals.metrics import percentile, summarize_latency
from evals.pairing import ScoreTable, pair_runs
from evals.stats import Interval, PairedComparison, Resampler, compare_pairs, summarize, summarize_segments
from service.storage import leases, metrics, results, runs
from service.storage.db import session_scope


def analyze_cycle(cycle_id: int, *, fence: leases.StepFence | None = None) -> dict[int, PairedComparison]:
    """Compute and store the cycle's run metrics and candidate-vs-production comparisons.

    Args:
        cycle_id: A cycle whose runs are scored.
        fence: The analysis step's lease: the metrics are committed only while it is held.

    Returns:
        Candidate run id -> its comparison against production on the primary scorer (what the
        advisor reads); empty without a production run.

    Raises:
        LeaseLost: another delivery took the step over; nothing was written.
    """
    with session_scope() as session:
        cycle = runs.get_cycle(session, cycle_id=cycle_id)
        recipe = runs.recipe(cycle)
        specs, policy, primary = recipe.scorers, recipe.watch.policy, recipe.primary.key
        cycle_runs = runs.cycle_runs(session, cycle_id=cycle_id)
        tables = {(run.id, spec.key): metrics.score_table(session, run_id=run.id or 0, scorer_key=spec.key)
                  for run in cycle_runs for spec in specs}
        latencies = {run.id: results.run_latencies(session, run=run) for run in cycle_runs}
        ttfts = {run.id: results.run_ttfts(session, run=run) for run in cycle_runs}
    production = next((run for run in cycle_runs if run.role == "production"), None)
    # Computed before anything is written: on SQLite a write transaction left open through the bootstrap
    # would lock out every other writer (the step's own lease renewals, the next cycle's replays) meanwhile.
    resampler = Resampler()  # runs and comparisons of the cycle resample the same cases: draw indices once
    intervals = {(run.id, spec.key): run_intervals(tables[(run.id, spec.key)], resampler=resampler)
                 for run in cycle_runs for spec in specs}
    comparisons = {} if production is None else {
        (run.id, spec.key): paired(tables[(production.id, spec.key)], tables[(run.id, spec.key)],
                                   margin=policy.margin, confidence=policy.confidence, resampler=resampler)
        for run in cycle_runs if run.role == "candidate" for spec in specs}
    primary_comparisons: dict[int, PairedComparison] = {}
    with session_scope() as session:
        leases.fence(session, fence)
        for run in cycle_runs:
            metrics.save_latency(session, run_id=run.id or 0, latency=summarize_latency(latencies[run.id]),
                                 ttft_p95_ms=percentile(ttfts[run.id], 95))
            for spec in specs:
                metrics.save_run_metrics(session, run_id=run.id or 0, scorer_key=spec.key,
                                         intervals=intervals[(run.id, spec.key)])
        for (run_id, key), comparison in comparisons.items():
            assert production is not None
            metrics.save_comparison(session, run_a_id=production.id or 0, run_b_id=run_id or 0, scorer_key=key,
                                    comparison=comparison)
            if key == primary:
                primary_comparisons[run_id or 0] = comparison
    return primary_comparisons


def run_intervals(table: ScoreTable, *, resampler: Resampler | None = None) -> dict[str, Interval]:
    """`{"": whole run, TAG: segment}` intervals of one run's values.

    Args:
        table: The run's scores on one scorer, with tags and clusters.
        resampler: Shares the bootstrap's drawn indices with the cycle's other runs (same numbers).
    """
    intervals = {"": summarize(table.values, clusters=table.clusters, resampler=resampler)}
    intervals.update(summarize_segments(table.values, tags=table.tags, clusters=table.clusters,
                                        resampler=resampler))
    return intervals


def paired(
    a: ScoreTable,
    b: ScoreTable,
    *,
    margin: float,
    confidence: float = 0.95,
    resampler: Resampler | None = None,
) -> PairedComparison:
    """The comparison of B against A (B − A), on the pairs `evals.pairing.pair_runs` makes.

    Args:
        a: Production's scores.
        b: The candidate's scores.
        margin: Non-inferiority margin.
        confidence: Coverage of the interval of the difference.
        resampler: Shares the bootstrap's drawn indices with the cycle's runs (same numbers).
    """
    return compare_pairs(pair_runs(a, b), margin=margin, confidence=confidence, resampler=resampler)
