"""What a paired interval decides about non-inferiority, and the cases it would take to decide.

Differences are candidate - production (B - A), and the margin is how much worse the candidate may
be. The lower bound of a two-sided interval at `confidence` is a one-sided test at level
(1 - confidence) / 2, so the outcome and the size needed use the same interval and the same level.
"""

from __future__ import annotations

import math
from enum import StrEnum

from evals.stats.difference import PairedInterval
from evals.stats.estimate import check_probability
from evals.stats.power import cases_needed


class Outcome(StrEnum):
    """The three outcomes of a non-inferiority comparison."""

    NON_INFERIOR = "non_inferior"
    """`ci_low > -margin`: the candidate is provably no worse than production by the margin."""
    INFERIOR = "inferior"
    """`ci_high <= -margin`: the candidate is provably worse by at least the margin."""
    UNDECIDED = "undecided"
    """`ci_low <= -margin < ci_high`: the interval straddles -margin."""


def decide(interval: PairedInterval, *, margin: float) -> Outcome:
    """The outcome of the non-inferiority comparison that *interval* supports.

    Args:
        interval: Interval of candidate - production.
        margin: Non-inferiority margin, a size >= 0 (0.05: the candidate may be 5 points worse).

    Returns:
        NON_INFERIOR, INFERIOR or UNDECIDED.
    """
    _check_margin(margin)
    if interval.ci_low > -margin:
        return Outcome.NON_INFERIOR
    if interval.ci_high <= -margin:
        return Outcome.INFERIOR
    return Outcome.UNDECIDED


def cases_to_decide(interval: PairedInterval, *, margin: float, power: float = 0.8) -> int | None:
    """The pairs a comparison like this one needs to show non-inferiority of an equal candidate.

    Sized at the per-pair spread of *interval* (`sd`, design effect included), for a true
    difference of 0 against -margin, with the one-sided level of the interval's lower bound. The
    spread is floored at that of one discordant pair among the `n_pairs` (a difference of 1 on one
    pair, 0 on the others), so identical answers never give "0 cases needed": they give the cases a
    single disagreement would call for.

    Args:
        interval: Interval of candidate - production.
        margin: Non-inferiority margin, > 0 for a finite answer.
        power: Probability that the lower bound clears -margin when the two are equal.

    Returns:
        At least 2, or None when the margin is 0 (no finite size shows non-inferiority then).
    """
    _check_margin(margin)
    check_probability("power", power)
    n = interval.n_pairs
    floor = math.sqrt((1.0 / n) * (1.0 - 1.0 / n)) if n > 1 else 0.5
    sd = max(interval.sd, floor)
    # power.cases_needed is two-sided at alpha: alpha = 1 - confidence puts alpha / 2 on the lower side.
    return cases_needed(sd, margin, alpha=1.0 - interval.confidence, power=power)


def _check_margin(margin: float) -> None:
    if not (math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin is how much worse the candidate may be, a size >= 0, not {margin}")
