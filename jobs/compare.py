"""The `turnout compare` step: a paired comparison of any two stored runs on one scorer, stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evals.errors import ConfigError
from evals.stats import PairedComparison
from jobs.analysis import paired
from service.storage import metrics, runs
from service.storage.db import session_scope


@dataclass(frozen=True)
class RunComparison:
    """Run B against run A (B − A) on one scorer."""

    run_a: int
    """Run A's id: the reference (production, or an earlier run)."""
    run_b: int
    """Run B's id."""
    scorer: str
    """The scorer key compared on."""
    comparison: PairedComparison
    """The comparison, overall and per segment."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form `turnout compare --json` prints (and the comparison row stores)."""
        return metrics.comparison_document(run_a_id=self.run_a, run_b_id=self.run_b, scorer_key=self.scorer,
                                           comparison=self.comparison)


def compare_runs(*, run_a: int, run_b: int, scorer: str | None = None, margin: float | None = None) -> RunComparison:
    """Compare run B against run A and store the comparison.

    Args:
        run_a: The reference run's id.
        run_b: The compared run's id.
        scorer: A scorer key of run B's cycle, or a scorer name when only one of its keys has it;
            None for the primary scorer.
        margin: The non-inferiority margin; None for the policy of run B's watch.

    Returns:
        The comparison, as stored.

    Raises:
        NotFound: a run does not exist.
        ConfigError: run B's cycle has no such scorer, or run A has no scores for it.
    """
    with session_scope() as session:
        runs.get_run(session, run_id=run_a)
        recipe = runs.recipe(runs.get_cycle(session, cycle_id=runs.get_run(session, run_id=run_b).cycle_id))
        key = _scorer_key(scorer or recipe.primary.key, keys=[spec.key for spec in recipe.scorers], run_b=run_b)
        table_a = metrics.score_table(session, run_id=run_a, scorer_key=key)
        table_b = metrics.score_table(session, run_id=run_b, scorer_key=key)
        if not table_a.values and not table_a.unscorable:
            raise ConfigError(f"run {run_a} has no scores for '{key}' (`turnout rescore {run_a} "
                              f"--scorer '{key}'` adds them)")
        comparison = paired(table_a, table_b, margin=recipe.watch.policy.margin if margin is None else margin)
        metrics.save_comparison(session, run_a_id=run_a, run_b_id=run_b, scorer_key=key, comparison=comparison)
    return RunComparison(run_a=run_a, run_b=run_b, scorer=key, comparison=comparison)


def _scorer_key(scorer: str, *, keys: list[str], run_b: int) -> str:
    if scorer in keys:
        return scorer
    named = [key for key in keys if key.split(":", 1)[0] == scorer]
    if not named:
        raise ConfigError(f"run {run_b} has no scores for '{scorer}'; its scorers are: {', '.join(keys)}"
                          " (`turnout rescore` adds one)")
    return named[0]
