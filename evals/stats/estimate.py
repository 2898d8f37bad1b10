"""Per-case means and the standard error of their mean, cluster-robust when cases share a cluster.

The clustered standard error follows Miller (2024), "Adding Error Bars to Evals" (arXiv 2411.00640):

    SE = sqrt( G / (G - 1) * sum_g ( sum_{i in g} (x_i - mean) ) ** 2 ) / n

with G clusters and a t quantile with G - 1 degrees of freedom. With intercept-only OLS this is
exactly statsmodels' `cov_type="cluster"` (its (N - 1) / (N - K) factor is 1 when K = 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ROUNDING = 1e-10
"""Deviations from the mean below this fraction of the largest |value| are treated as rounding noise."""


def case_mean(key: str, values: Sequence[float]) -> float:
    """The mean of one case's repetitions.

    Raises:
        ValueError: a value is NaN or infinite (the message names the case).
    """
    total = float(values[0]) if len(values) == 1 else math.fsum(values)
    if not math.isfinite(total):
        raise ValueError(f"case {key!r} has a non-finite score in {list(values)!r}; scores must be finite numbers")
    return total / len(values)


def case_means(values: Mapping[str, Sequence[float]]) -> tuple[list[str], FloatArray]:
    """Average each case's repetitions; cases without any value are left out.

    Keys are sorted, so every result is independent of the mapping's order.

    Returns:
        The case keys and their means, in the same order.
    """
    keys = sorted(key for key, reps in values.items() if len(reps) > 0)
    means = np.array([case_mean(key, values[key]) for key in keys], dtype=np.float64)
    return keys, means


def cluster_codes(keys: Sequence[str], clusters: Mapping[str, str | None] | None) -> IntArray:
    """Number the clusters of *keys* 0..G-1; a case without a cluster is a cluster of its own."""
    if not clusters:  # every case its own cluster, numbered in order (keys are distinct)
        return np.arange(len(keys), dtype=np.int64)
    numbers: dict[str, int] = {}
    codes = []
    for key in keys:
        label = (clusters or {}).get(key)
        name = f"cluster:{label}" if label is not None else f"case:{key}"
        codes.append(numbers.setdefault(name, len(numbers)))
    return np.array(codes, dtype=np.int64)


def shares_clusters(codes: IntArray) -> bool:
    """True when at least two cases share a cluster."""
    return len(np.unique(codes)) < len(codes)


def is_binary(x: FloatArray) -> bool:
    """True when every value is exactly 0 or 1."""
    return bool(np.all((x == 0.0) | (x == 1.0)))


def is_unit_bounded(x: FloatArray) -> bool:
    """True when every value lies in [0, 1]."""
    return bool(np.all((x >= 0.0) & (x <= 1.0)))


def skewness(x: FloatArray) -> float:
    """Sample skewness m3 / m2 ** 1.5 (scipy's biased default); 0 when all values are equal."""
    centred = x - x.mean()
    m2 = float(np.mean(centred**2))
    scale = m2 * math.sqrt(m2)
    if scale <= 0.0:  # no spread, or a spread so small that its cube underflows
        return 0.0
    return float(np.mean(centred**3)) / scale


@dataclass(frozen=True)
class MeanEstimate:
    """A sample mean, its standard error and the degrees of freedom for t quantiles."""

    mean: float
    se: float
    """Standard error of the mean; cluster-robust when `n_clusters` is set."""
    df: int
    """n - 1, or G - 1 when clustered."""
    n: int
    n_clusters: int | None = None
    """G when the standard error is cluster-robust, else None."""

    @property
    def sd(self) -> float:
        """The per-case standard deviation this standard error implies (design effect included)."""
        return self.se * math.sqrt(self.n)

    def bounds(self, confidence: float) -> tuple[float, float]:
        """The two-sided t interval at *confidence*."""
        half = self.se * t_quantile(confidence, self.df) if self.se > 0 else 0.0
        return self.mean - half, self.mean + half

    def p_value(self, null: float = 0.0) -> float | None:
        """Two-sided t-test p-value of H0: mean == *null*; None when the standard error is 0."""
        if self.se <= 0:
            return None
        return float(2.0 * special.stdtr(self.df, -abs(self.mean - null) / self.se))

    def p_greater(self, null: float) -> float | None:
        """One-sided t-test p-value of H0: mean <= *null*; None when the standard error is 0."""
        if self.se <= 0:
            return None
        return float(special.stdtr(self.df, -(self.mean - null) / self.se))


def estimate_mean(x: FloatArray, codes: IntArray | None = None) -> MeanEstimate | None:
    """The mean of *x* with its standard error, cluster-robust when *codes* are given.

    Args:
        x: One value per case.
        codes: Cluster number of each case (from `cluster_codes`), or None for independent cases.

    Returns:
        The estimate, or None when there are fewer than 2 cases (or 2 clusters): no spread to measure.
    """
    n = len(x)
    if n < 2:
        return None
    mean = float(x.mean())
    deviations = x - mean
    if codes is None:
        g, n_clusters, dense = n, None, np.arange(n)
    else:
        _, dense = np.unique(codes, return_inverse=True)
        dense = dense.reshape(-1)
        g = int(dense.max()) + 1
        n_clusters = g
    if g < 2:
        return None
    if float(np.max(np.abs(deviations))) <= ROUNDING * float(np.max(np.abs(x))):
        # Spread at rounding level (e.g. 0.3 - 0.2 vs 0.2 - 0.1) is no spread: no false certainty.
        se = 0.0
    elif codes is None:
        se = float(x.std(ddof=1)) / math.sqrt(n)
    else:
        sums = np.bincount(dense, weights=deviations, minlength=g)
        se = math.sqrt(g / (g - 1) * float(np.sum(sums**2))) / n
    return MeanEstimate(mean=mean, se=se, df=g - 1, n=n, n_clusters=n_clusters)


def t_quantile(confidence: float, df: int) -> float:
    """The two-sided critical value of Student's t at *confidence*."""
    check_probability("confidence", confidence)
    return float(special.stdtrit(df, 0.5 + confidence / 2.0))


def check_probability(name: str, value: float) -> None:
    """Raise ValueError unless 0 < value < 1."""
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, not {value}")
