"""Read models of cycles and runs, in the shapes the CLI prints (and the API will serve)."""

from __future__ import annotations

from sqlmodel import Session

from evals.metrics import mean
from service.storage import runs
from service.storage.metrics import run_metrics
from service.storage.public import CyclePublic, RunSummaryPublic
from service.storage.results import run_score_values, unscorable_cases
from service.storage.tables import GoldenSetVersionRow, RunRow


def cycle_summary(session: Session, *, cycle_id: int) -> CyclePublic:
    """A cycle with one summary per run, production first."""
    cycle = runs.get_cycle(session, cycle_id=cycle_id)
    version = session.get(GoldenSetVersionRow, cycle.golden_set_version_id)
    recipe = runs.recipe(cycle)
    cycle_runs = runs.cycle_runs(session, cycle_id=cycle_id)
    names = runs.model_names(session, cycle_runs)
    return CyclePublic.model_validate({
        "cycle_id": cycle.id,
        "watch": recipe.watch.name,
        "golden_set": recipe.golden_set,
        "golden_set_version": version.content_hash if version else None,
        "state": cycle.state,
        "reason": cycle.reason,
        "failure_kind": cycle.failure_kind,
        "primary_scorer": recipe.primary.key,
        "cost_usd": cycle.cost_usd,
        "runs": [_run_summary(session, run=run, model=names[run.model_id], scorer_keys=[s.key for s in recipe.scorers],
                              primary=recipe.primary.key) for run in cycle_runs],
    })


def _run_summary(session: Session, *, run: RunRow, model: str, scorer_keys: list[str],
                 primary: str) -> RunSummaryPublic:
    values = run_score_values(session, run=run)
    intervals = run_metrics(session, run_id=run.id or 0, scorer_key=primary)
    overall = intervals.pop("", None)
    return RunSummaryPublic.model_validate({
        "run_id": run.id,
        "model": model,
        "simulated": run.model_spec.get("kind") == "sim",
        "role": run.role,
        "state": run.state,
        "reason": run.reason,
        "failure_kind": run.failure_kind,
        "n_cases": run.n_done,
        "n_errors": run.n_errors,
        "score_mean": mean(values.get(primary, [])),
        "score_ci_low": overall.ci_low if overall else None,
        "score_ci_high": overall.ci_high if overall else None,
        "scores": {key: mean(values.get(key, [])) for key in scorer_keys},
        "latency_p50_ms": run.latency_p50_ms,
        "latency_p95_ms": run.latency_p95_ms,
        "input_tokens": run.input_tokens,
        "output_tokens": run.output_tokens,
        "cost_usd": run.cost_usd,
        "segments": dict(sorted(intervals.items())),
        "unscorable": unscorable_cases(session, run_id=run.id or 0),
    })
