"""Cohen's kappa: agreement of two raters beyond chance, with its large-sample interval.

Used by judge drift: a judge's verdicts now against the verdicts pinned earlier (its own, or a
person's). Percent agreement would call a judge that passes everything "90 % in agreement" with a
reference that passes 90 %; kappa scores that 0, as chance does.

kappa = (p_o - p_e) / (1 - p_e), with p_o the share of items both raters put in the same category and
p_e the share expected by chance from their margins. Its standard error is the non-null large-sample
one of Fleiss, Cohen & Everitt (1969), "Large sample standard errors of kappa and weighted kappa",
Psychol. Bull. 72:323-327 (the one statsmodels' `cohens_kappa` reports), and the interval is
kappa +- z * SE, clipped to [-1, 1].
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from evals.stats.proportions import z_value


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa of two raters over the same items."""

    kappa: float | None
    """Agreement beyond chance, -1 to 1; None when chance already agrees on everything (p_e = 1:
    both raters put every item in one and the same category), where kappa is undefined."""
    se: float | None
    """Large-sample standard error; None with kappa."""
    ci_low: float | None
    """Lower bound of the two-sided interval."""
    ci_high: float | None
    """Upper bound."""
    n: int
    """Items rated by both."""
    observed: float | None
    """p_o, the share of items in agreement; None without items."""
    expected: float | None
    """p_e, the share chance would put in agreement; None without items."""
    confidence: float
    """Two-sided level of the interval."""


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable], *, confidence: float = 0.95) -> Kappa:
    """Cohen's (unweighted) kappa of two raters' categories for the same items, with its interval.

    Args:
        first: One rater's category per item (any hashable: "pass", 7, 0.5).
        second: The other's, aligned with *first*.
        confidence: Two-sided level of the interval.

    Returns:
        The kappa; `kappa` is None without items or when p_e = 1.

    Raises:
        ValueError: the two differ in length.
    """
    if len(first) != len(second):
        raise ValueError(f"the raters must rate the same items: {len(first)} and {len(second)} categories")
    n = len(first)
    if n == 0:
        return Kappa(kappa=None, se=None, ci_low=None, ci_high=None, n=0, observed=None, expected=None,
                     confidence=confidence)
    categories = {category: i for i, category in enumerate(dict.fromkeys([*first, *second]))}
    table = np.zeros((len(categories), len(categories)))
    for a, b in zip(first, second, strict=True):
        table[categories[a], categories[b]] += 1
    return kappa_of_table(table, confidence=confidence)


def kappa_of_table(table: np.ndarray, *, confidence: float = 0.95) -> Kappa:
    """Cohen's kappa of a square table of counts (rows: one rater's categories, columns: the other's).

    Args:
        table: k x k counts, the same categories in the same order on both sides.
        confidence: Two-sided level of the interval.
    """
    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or np.any(counts < 0):
        raise ValueError(f"a kappa table is a square table of counts >= 0, not shape {counts.shape}")
    n = float(counts.sum())
    if n == 0:
        return Kappa(kappa=None, se=None, ci_low=None, ci_high=None, n=0, observed=None, expected=None,
                     confidence=confidence)
    p = counts / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    observed, expected = float(np.trace(p)), float(rows @ cols)
    if expected >= 1.0 - 1e-12:
        return Kappa(kappa=None, se=None, ci_low=None, ci_high=None, n=int(n), observed=observed,
                     expected=expected, confidence=confidence)
    kappa = (observed - expected) / (1.0 - expected)
    # Fleiss, Cohen & Everitt (1969), equation (13): the variance away from kappa = 0.
    diagonal = float(np.sum(np.diag(p) * (1.0 - (rows + cols) * (1.0 - kappa)) ** 2))
    spread = cols[:, None] + rows[None, :]  # p_.i + p_j. for cell (i, j)
    off = p * spread**2
    np.fill_diagonal(off, 0.0)
    variance = (diagonal + (1.0 - kappa) ** 2 * float(off.sum()) - (kappa - expected * (1.0 - kappa)) ** 2) / (
        n * (1.0 - expected) ** 2)
    se = math.sqrt(max(variance, 0.0))
    z = z_value(confidence)
    return Kappa(kappa=kappa, se=se, ci_low=max(-1.0, kappa - z * se), ci_high=min(1.0, kappa + z * se),
                 n=int(n), observed=observed, expected=expected, confidence=confidence)
