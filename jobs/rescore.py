"""The `turnout rescore` step: a run's stored completions scored again (no model is replayed), and the
catalog of scorers one can rescore with (`turnout scorers`)."""

from __future__ import annotations

import asyncio

from evals.scoring.registry import ScorerSpec, registered_scorers
from service.storage import runs
from service.storage.db import session_scope
from service.storage.scoring_public import RescoredPublic, ScorerPublic, ScorersPublic


def rescore_run(*, run_id: int, scorers: list[str]) -> RescoredPublic:
    """Score every stored completion of the run again with *scorers*, replacing their earlier scores.

    Runs inline: deterministic scorers only read stored answers; a judge among *scorers* calls its model
    through the shared limits and budget, as in a cycle.

    Args:
        run_id: The run's id.
        scorers: Scorer specs as the command line takes them: `NAME` or `NAME:{json options}`.

    Returns:
        How many scores were written, and the scorer keys they are stored under.

    Raises:
        NotFound: the run does not exist.
        UnknownScorer: a spec names no registered scorer, or its options are not valid JSON or not the
            scorer's (checked before anything is scored).
        PolicyViolation: a judge may not receive the run's golden set (nothing is sent).
    """
    from jobs import pipeline  # the scoring stack: imported only when a run is rescored

    specs = [ScorerSpec.parse(text) for text in scorers]
    with session_scope() as session:
        run = runs.get_run(session, run_id=run_id)
    written = asyncio.run(pipeline.score_cycle(run.cycle_id, specs=specs, run_ids=[run_id], force=True))
    return RescoredPublic(run_id=run_id, written=written, scorers=[spec.key for spec in specs])


def list_scorers() -> ScorersPublic:
    """Every registered scorer (built-ins included), by name."""
    return ScorersPublic(scorers=[
        ScorerPublic(name=name, version=registered.version, description=registered.description,
                     calls_models=registered.takes_context)
        for name, registered in sorted(registered_scorers().items())])
