"""The analysis step: intervals per run and segment, and paired comparisons of each candidate
against production, on every scorer of the cycle; stored so readers never recompute them."""

from __future__ import annotations

from typing import Any

from evals.stats import compare, summarize, summarize_segments
from service.storage import metrics, runs
from service.storage.db import session_scope
from service.storage.metrics import ScoreTable

def analyze_cycle(cycle_id: int) -> None:
    """Compute and store the cycle's run metrics and candidate-vs-production comparisons."""
    with session_scope() as session:
        cycle = runs.get_cycle(session, cycle_id=cycle_id)
        recipe = runs.recipe(cycle)
        specs, margin = recipe.scorers, recipe.watch.policy.margin
        cycle_runs = runs.cycle_runs(session, cycle_id=cycle_id)
        tables = {(run.id, spec.key): metrics.score_table(session, run_id=run.id or 0, scorer_key=spec.key)
                  for run in cycle_runs for spec in specs}
    production = next((run for run in cycle_runs if run.role == "production"), None)
    with session_scope() as session:
        for run in cycle_runs:
            for spec in specs:
                metrics.save_run_metrics(session, run_id=run.id or 0, scorer_key=spec.key,
                                         intervals=run_intervals(tables[(run.id, spec.key)]))
        if production is None:
            return
        for run in cycle_runs:
            if run.role != "candidate":
                continue
            for spec in specs:
                document = paired(tables[(production.id, spec.key)], tables[(run.id, spec.key)], margin=margin)
                metrics.save_comparison(session, run_a_id=production.id or 0, run_b_id=run.id or 0,
                                        scorer_key=spec.key, document=document)


def run_intervals(table: ScoreTable) -> dict[str, dict[str, Any]]:
    """`{"": whole run, TAG: segment}` intervals of one run's values."""
    intervals = {"": summarize(table.values, clusters=table.clusters).to_dict()}
    segments = summarize_segments(table.values, tags=table.tags, clusters=table.clusters)
    intervals.update({tag: interval.to_dict() for tag, interval in segments.items()})
    return intervals


def paired(a: ScoreTable, b: ScoreTable, *, margin: float) -> dict[str, Any]:
    """The comparison document of B against A (B − A). Cases a scorer could not judge on either
    side are left out; a case one side did not answer at all counts as that side's failure."""
    skip = a.unscorable | b.unscorable
    values_a = {key: value for key, value in a.values.items() if key not in skip}
    values_b = {key: value for key, value in b.values.items() if key not in skip}
    tags = {**a.tags, **b.tags}
    clusters = {**a.clusters, **b.clusters}
    return compare(values_a, values_b, clusters=clusters, tags=tags, margin=margin).to_dict()
