"""Exact coverage of the paired-proportion intervals: a sum over every 2x2 table of the multinomial.

For n pairs with cell probabilities (both pass, only B, only A, neither), the coverage of an interval
for the true difference P(only B) - P(only A) is the probability of the tables whose interval holds
it. Tango's interval depends on (b, c) only, so the sum runs over the trinomial of (b, c, rest);
Newcombe's also on how the rest splits into both / neither, so for each (b, c) it runs over that
binomial too. Tables of probability below `cutoff` are left out (their mass is reported). Both are
computed as `difference.paired_interval` computes them: with the one-way widening
(`proportions.one_way_bounds`), unless `one_way=False` asks for the score interval alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special, stats

from evals.stats.estimate import FloatArray
from evals.stats.proportions import newcombe_bounds, one_way_bounds, tango_bounds, z_value

CUTOFF = 1e-12
"""Tables less likely than this are left out of the sum."""


@dataclass(frozen=True)
class Coverage:
    """The exact coverage of one interval method at one point of the parameter space."""

    coverage: float
    """Probability that the interval holds the true difference."""
    mass: float
    """Probability of the tables summed over (1 minus what the cutoff left out)."""
    tables: int
    """Tables summed over."""
    width: float
    """Expected width of the interval over the tables summed (divided by their mass)."""


def exact_coverage(
    method: Literal["tango", "newcombe"],
    *,
    n: int,
    p_only_b: float,
    p_only_a: float,
    p_both: float,
    confidence: float = 0.95,
    cutoff: float = CUTOFF,
    one_way: bool = True,
) -> Coverage:
    """The exact coverage of *method* for n pairs drawn with the given cell probabilities.

    Args:
        method: "tango" or "newcombe".
        n: Pairs.
        p_only_b: P(only B passes).
        p_only_a: P(only A passes).
        p_both: P(both pass); P(neither) is the rest.
        confidence: Two-sided level of the interval.
        cutoff: Tables less likely than this are left out.
        one_way: Widen the interval where all discordant pairs go one way, as `paired_interval` does.

    Returns:
        The coverage, and the mass of the tables it summed.
    """
    p_neither = 1.0 - p_both - p_only_b - p_only_a
    if min(p_only_b, p_only_a, p_both, p_neither) < -1e-12:
        raise ValueError("cell probabilities must be >= 0 and sum to 1")
    p_neither = max(p_neither, 0.0)
    truth = p_only_b - p_only_a
    z = z_value(confidence)
    b, c, prob = _discordant_tables(n, p_only_b, p_only_a, cutoff)
    if method == "tango":
        low, high = tango_bounds(b, c, n, z)
        if one_way:
            low, high = one_way_bounds(b, c, n, low, high, confidence)
        return _coverage(prob, low, high, truth)
    concordant = p_both + p_neither
    share = p_both / concordant if concordant > 0 else 0.0
    rest = n - b - c
    first = stats.binom.ppf(cutoff, rest, share)
    last = stats.binom.isf(cutoff, rest, share)
    first = np.where(np.isnan(first), 0, np.maximum(first - 1, 0)).astype(np.int64)
    last = np.where(np.isnan(last), rest, np.minimum(last + 1, rest)).astype(np.int64)
    counts = last - first + 1
    row = np.repeat(np.arange(len(b)), counts)
    both = first[row] + (np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts))
    p = prob[row] * stats.binom.pmf(both, rest[row], share)
    low, high = newcombe_bounds(both, b[row], c[row], rest[row] - both, z)
    if one_way:
        low, high = one_way_bounds(b[row], c[row], n, low, high, confidence)
    return _coverage(p, low, high, truth)


def _coverage(prob: FloatArray, low: FloatArray, high: FloatArray, truth: float) -> Coverage:
    held = (low <= truth) & (truth <= high)
    mass = float(prob.sum())
    width = float(np.sum(prob * (high - low)) / mass) if mass > 0 else 0.0
    return Coverage(coverage=float(np.sum(prob[held])), mass=mass, tables=len(prob), width=width)


def _discordant_tables(n: int, p_b: float, p_c: float, cutoff: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    def span(p: float) -> np.ndarray:
        low = int(stats.binom.ppf(cutoff, n, p)) if p > 0 else 0
        high = int(stats.binom.isf(cutoff, n, p)) + 1 if p > 0 else 0
        return np.arange(max(low - 1, 0), min(high, n) + 1)

    b, c = np.meshgrid(span(p_b), span(p_c), indexing="ij")
    b, c = b.ravel(), c.ravel()
    keep = b + c <= n
    b, c = b[keep].astype(np.float64), c[keep].astype(np.float64)
    rest = n - b - c
    log_p = (
        special.gammaln(n + 1.0)
        - special.gammaln(b + 1.0)
        - special.gammaln(c + 1.0)
        - special.gammaln(rest + 1.0)
        + special.xlogy(b, p_b)
        + special.xlogy(c, p_c)
        + special.xlogy(rest, max(1.0 - p_b - p_c, 0.0))
    )
    prob = np.exp(log_p)
    keep = prob >= cutoff
    return b[keep], c[keep], prob[keep]
