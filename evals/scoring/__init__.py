"""Scorers: registered factories that judge a completion against its case."""

from evals.scoring.registry import Scorer, ScorerSpec, primary_spec, registered_scorers, scorer

__all__ = ["Scorer", "ScorerSpec", "primary_spec", "registered_scorers", "scorer"]
