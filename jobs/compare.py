"""The `turnout compare` step: a paired comparison of any two stored runs on one scorer, stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evals.errors import ConfigError
from evals.stats import PairedComparison
from jobs.analysis import paired
from service.storage import metrics, runs
from service.storage.db import session_scope
from service.storage.scoring_public import ComparisonPublic
from service.storage.tables import GoldenSetVersionRow


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

    def public(self) -> ComparisonPublic:
        """The typed form of `to_dict`, which the API serves and the dashboard shows."""
        return ComparisonPublic.of(self.to_dict())


def compare_runs(*, run_a: int, run_b: int, scorer: str | None = None, margin: float | None = None) -> RunComparison:
    """Compare run B against run A and store the comparison.

    Args:
        run_a: The reference run's id.
        run_b: The compared run's id.
        scorer: A scorer key of run B's cycle or of a `turnout rescore` of run B, or a scorer name when only one
            of those keys has it; None for the primary scorer.
        margin: The non-inferiority margin; None for the policy of run B's watch.

    Returns:
        The comparison, as stored.

    Raises:
        NotFound: a run does not exist.
        ConfigError: the runs are of different golden sets, run B's cycle has no such scorer, either run has no
            scores for it, or no case of one run pairs with a case of the other (nothing is stored then).
    """
    with session_scope() as session:
        cycle_a = runs.get_cycle(session, cycle_id=runs.get_run(session, run_id=run_a).cycle_id)
        cycle_b = runs.get_cycle(session, cycle_id=runs.get_run(session, run_id=run_b).cycle_id)
        _same_golden_set(session.get(GoldenSetVersionRow, cycle_a.golden_set_version_id),
                         session.get(GoldenSetVersionRow, cycle_b.golden_set_version_id), run_a=run_a, run_b=run_b,
                         names=(runs.recipe(cycle_a).golden_set, runs.recipe(cycle_b).golden_set))
        recipe = runs.recipe(cycle_b)
        keys = [spec.key for spec in recipe.scorers]  # the recipe's first, then what a rescore added
        keys += [key for key in metrics.stored_scorer_keys(session, run_id=run_b) if key not in keys]
        key = _scorer_key(scorer or recipe.primary.key, keys=keys, run_b=run_b)
        table_a = metrics.score_table(session, run_id=run_a, scorer_key=key)
        table_b = metrics.score_table(session, run_id=run_b, scorer_key=key)
        for run_id, table in ((run_a, table_a), (run_b, table_b)):
            # A run with no score at all has not been scored (or replayed) yet: pairing it would count
            # every case as a failure of that run.
            if not table.values and not table.unscorable:
                raise ConfigError(f"run {run_id} has no scores for '{key}' (`turnout rescore {run_id} "
                                  f"--scorer '{key}'` adds them once it has answers)")
        comparison = paired(table_a, table_b, margin=recipe.watch.policy.margin if margin is None else margin)
        if comparison.n_pairs == 0:
            why = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in sorted(comparison.left_out.items()))
            raise ConfigError(f"runs {run_a} and {run_b} have no case in common to compare on '{key}'"
                              f" (left out: {why or 'none'})")
        metrics.save_comparison(session, run_a_id=run_a, run_b_id=run_b, scorer_key=key, comparison=comparison)
    return RunComparison(run_a=run_a, run_b=run_b, scorer=key, comparison=comparison)


def _same_golden_set(a: GoldenSetVersionRow | None, b: GoldenSetVersionRow | None, *, run_a: int, run_b: int,
                     names: tuple[str, str]) -> None:
    # Versions of one golden set pair on their shared cases; two golden sets share no meaning.
    if a is None or b is None or a.golden_set_id != b.golden_set_id:
        raise ConfigError(f"run {run_a} replayed golden set '{names[0]}' and run {run_b} golden set '{names[1]}': "
                          "only runs of the same golden set can be compared")


def _scorer_key(scorer: str, *, keys: list[str], run_b: int) -> str:
    if scorer in keys:
        return scorer
    named = [key for key in keys if key.split(":", 1)[0] == scorer]
    if not named:
        raise ConfigError(f"run {run_b} has no scores for '{scorer}'; its scorers are: {', '.join(keys)}"
                          " (`turnout rescore` adds one)")
    return named[0]
