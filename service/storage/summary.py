"""Read models of cycles and runs, in the shapes the CLI prints (and the API will serve)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from evals.metrics import mean, percentile
from service.storage import runs
from service.storage.metrics import run_metrics
from service.storage.results import run_latencies, run_score_values
from service.storage.tables import GoldenSetVersionRow


def cycle_summary(session: Session, *, cycle_id: int) -> dict[str, Any]:
    """`{"cycle_id", "golden_set_version", "state", "reason", "cost_usd", "runs": [...]}`."""
    cycle = runs.get_cycle(session, cycle_id=cycle_id)
    version = session.get(GoldenSetVersionRow, cycle.golden_set_version_id)
    recipe = runs.recipe(cycle)
    specs, primary = recipe.scorers, recipe.primary
    cycle_runs = runs.cycle_runs(session, cycle_id=cycle_id)
    names = runs.model_names(session, cycle_runs)
    summaries = []
    for run in cycle_runs:
        values = run_score_values(session, run=run)
        latencies = run_latencies(session, run=run)
        intervals = run_metrics(session, run_id=run.id or 0, scorer_key=primary.key)
        overall = intervals.pop("", {})
        summaries.append({
            "run_id": run.id,
            "model": names[run.model_id],
            "role": run.role,
            "state": run.state,
            "reason": run.reason,
            "n_cases": run.n_done,
            "n_errors": run.n_errors,
            "score_mean": mean(values.get(primary.key, [])),
            "score_ci_low": overall.get("ci_low"),
            "score_ci_high": overall.get("ci_high"),
            "scores": {spec.key: mean(values.get(spec.key, [])) for spec in specs},
            "latency_p50_ms": percentile(latencies, 50),
            "latency_p95_ms": percentile(latencies, 95),
            "input_tokens": run.input_tokens,
            "output_tokens": run.output_tokens,
            "cost_usd": run.cost_usd,
            "segments": dict(sorted(intervals.items())),
        })
    return {
        "cycle_id": cycle.id,
        "watch": recipe.watch.name,
        "golden_set": recipe.golden_set,
        "golden_set_version": version.content_hash if version else None,
        "state": cycle.state,
        "reason": cycle.reason,
        "primary_scorer": primary.key,
        "cost_usd": cycle.cost_usd,
        "runs": summaries,
    }
