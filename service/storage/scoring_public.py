"""Read models of scoring again and comparing runs: the registered scorers, a rescore's outcome, and the
paired comparison of two runs exactly as `turnout compare --json` prints it.

Kept apart from `service.storage.public` so that naming them does not import the statistics stack:
the fields of a comparison are plain numbers and names here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Public(BaseModel):
    # Forbidding extra keys keeps these models and `comparison_document` in step: a key added there
    # and not here fails validation instead of vanishing from the API.
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScorerPublic(_Public):
    """One registered scorer, as `turnout scorers` lists it."""

    name: str
    version: str
    """Stored with every score it produces; bumped when its results would change."""
    description: str
    calls_models: bool
    """True for judges: scoring with it sends cases and answers to a model (and may cost money)."""


class ScorersPublic(_Public):
    """Every registered scorer, by name."""

    scorers: list[ScorerPublic]


class RescoredPublic(_Public):
    """What `turnout rescore` did: the run's stored completions scored again, with no model replayed."""

    run_id: int
    written: int
    """Scores written (existing ones for the same scorer and options are replaced)."""
    scorers: list[str]
    """The scorer keys scored with (`name` or `name:{json options}`), as the scores are stored."""


class ComparisonStatsPublic(_Public):
    """Run B against run A (B − A) on the cases both have, overall or on one segment."""

    n_pairs: int
    difference: float | None
    """Mean of B − A over the pairs; null without pairs."""
    ci_low: float | None
    """Lower bound of the interval of the difference; null with fewer than 2 pairs."""
    ci_high: float | None
    p_value: float | None
    mcnemar_p: float | None
    noninferiority_p: float | None
    """One-sided test that B is worse than A by the margin or more; small means B is provably no worse."""
    min_detectable: float | None
    cases_needed: int | None
    margin: float
    method: str | None
    """How the interval was computed (`tango`, `bootstrap`, `cluster_t`, `betting`, ...)."""
    conservative: bool
    fallback: str | None
    outcome: str | None
    """`non_inferior`, `inferior` or `undecided`; null without an interval."""
    n_discordant: int
    confidence: float


class SegmentComparisonPublic(ComparisonStatsPublic):
    """The comparison on the cases carrying one tag."""

    p_value_holm: float | None
    """`p_value` after Holm's correction across the segments."""


class UnscorablePublic(_Public):
    """Cases the scorer could not judge on each side, and why (left out of the pairs)."""

    a: int
    b: int
    reasons: dict[str, int]


class ComparisonPublic(ComparisonStatsPublic):
    """The paired comparison of run B against run A on one scorer, as `turnout compare --json` prints it."""

    run_a: int
    """The reference run."""
    run_b: int
    scorer: str
    """The scorer key compared on."""
    segments: dict[str, SegmentComparisonPublic]
    unscorable: UnscorablePublic
    left_out: dict[str, int]
    """Cases not paired, by reason (`unscorable`, `not_in_other_version`, `not_sampled`)."""

    @classmethod
    def of(cls, document: dict[str, Any]) -> ComparisonPublic:
        """The model of a stored comparison document (`metrics.comparison_document`)."""
        return cls.model_validate(document)
