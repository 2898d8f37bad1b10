"""The interval of a paired difference B - A (candidate - production), its method chosen from the data.

How the method is chosen (data → method: why):

- Every score 0 or 1, no shared cluster → "tango" (default) or "newcombe": score intervals made for
  paired proportions; exact coverage checked at n = 30, 100, 1,000.
- 0/1, >= `MIN_CLUSTERS` clusters → "tango_clustered": Tango on counts divided by the design effect
  (Rao & Scott 1992), t quantile with G - 1 df.
- In [0, 1], >= `MIN_PAIRS` pairs → "bootstrap": seeded BCa bootstrap of the mean difference
  (`bootstrap.bca_interval`).
- In [0, 1], clusters, >= `MIN_CLUSTERS` clusters and `MIN_PAIRS` pairs → "cluster_t": clustered SE,
  t with G - 1 df (Miller 2024).
- In [0, 1], fewer pairs or clusters, or no spread → "betting", conservative: the CLT cannot be
  trusted there (Bowyer et al. 2025, arXiv 2503.01747).
- Outside [0, 1] → "bootstrap" / "cluster_t", or "t" below `MIN_PAIRS`: no bound for a conservative
  method.

Tango is the default for pass/fail scores. Where every discordant pair goes one way (c = 0 < b or
b = 0 < c) both binary intervals are widened to hold the exact (Clopper-Pearson) interval of the
discordant rate (`proportions.one_way_bounds`): without it, when the truth goes all one way too, their
exact coverage dips to 93.6 % (Tango, n = 100, 10 % discordance) and 92.7 % (Newcombe, n = 1,000,
1 %); with it, it is at least nominal there for every n. On the exact-coverage grid of the tests
(n = 30, 100, 1,000; discordance 0, 1 %, 10 %; true difference 0, half the discordance or all of it,
either way; pass rate 0.5 or 0.9) Tango then keeps >= 94.9 % (94.97 %), Newcombe >= 95.0 %; adding
5 % and 20 % discordance, Tango >= 94.8 %. Tango stays the default: it depends on the discordant pairs
only, not on how the tied ones split between pass and fail, and the widening costs it 1.7 % of mean
width over that grid against Newcombe's 10 %. `benchmarks/intervals.py` prints the full table, and
the widths with and without the widening.

The conservative "betting" interval holds its coverage at any n, at a price: at 30 pairs of skewed
continuous differences it is about 4 times as wide as the bootstrap (which covers about 93 %
there), and with fewer than 10 clusters it is close to the whole range: such data cannot show
non-inferiority, which is what the advisor should then say.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from evals.stats.betting import betting_interval
from evals.stats.bootstrap import Resampler, bca_interval
from evals.stats.estimate import (
    FloatArray,
    IntArray,
    check_probability,
    estimate_mean,
    is_binary,
    is_unit_bounded,
    shares_clusters,
    t_quantile,
)
from evals.stats.proportions import newcombe_bounds, one_way_bounds, tango_bounds, z_value

PairedMethod = Literal["tango", "newcombe", "tango_clustered", "bootstrap", "cluster_t", "betting", "t"]
"""How the interval of a paired difference was computed."""

Fallback = Literal["few_pairs", "few_clusters", "no_spread"]
"""Why the conservative method was used instead of the one the data type calls for."""

MIN_PAIRS = 100
"""Pairs of continuous scores below which the bootstrap (and the clustered t) undercover: at 30 pairs
of skewed differences the BCa bootstrap covers about 93 % (`benchmarks/intervals.py`), at 100 about 95 %."""

MIN_CLUSTERS = 10
"""Clusters below which a clustered standard error is too noisy to trust (Cameron & Miller 2015)."""


@dataclass(frozen=True)
class PairedInterval:
    """The mean difference B - A over paired cases, with its confidence interval."""

    difference: float
    """Mean of B - A over the pairs."""
    ci_low: float
    """Lower bound of the interval; the non-inferiority test is `ci_low > -margin`."""
    ci_high: float
    """Upper bound."""
    n_pairs: int
    """Pairs compared."""
    n_discordant: int
    """Pairs whose two scores differ (b + c for pass/fail scores)."""
    n_clusters: int | None
    """Clusters when cases share one (the interval is then cluster-aware), else None."""
    method: PairedMethod
    """How the interval was computed."""
    conservative: bool
    """True when a method with guaranteed but wider coverage replaced the usual one (see `fallback`)."""
    fallback: Fallback | None
    """Why it was replaced, or None."""
    confidence: float
    """Two-sided coverage of the interval."""
    sd: float
    """Standard deviation of one pair's difference, design effect included when clustered: what
    `decision.cases_to_decide` sizes a comparison with. 0 when every pair is tied."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field by name."""
        return {
            "difference": self.difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n_pairs": self.n_pairs,
            "n_discordant": self.n_discordant,
            "n_clusters": self.n_clusters,
            "method": self.method,
            "conservative": self.conservative,
            "fallback": self.fallback,
            "confidence": self.confidence,
            "sd": self.sd,
        }


def paired_interval(
    a: Sequence[float] | FloatArray,
    b: Sequence[float] | FloatArray,
    *,
    clusters: Sequence[str | None] | IntArray | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    resamples: int = 2000,
    binary_method: Literal["tango", "newcombe"] = "tango",
    resampler: Resampler | None = None,
) -> PairedInterval | None:
    """The interval of the mean paired difference B - A, by the method the data call for.

    Args:
        a: Per-case scores of A (production), one per pair (repetitions already averaged).
        b: Per-case scores of B (candidate), aligned with *a*.
        clusters: Per-pair cluster, aligned with *a*: labels (None = a cluster of its own) or the
            codes of `estimate.cluster_codes`. Shared clusters make the interval cluster-aware.
        confidence: Two-sided coverage, e.g. 0.95.
        seed: Seed of the bootstrap and of the betting orderings; same data, same interval.
        resamples: Bootstrap resamples.
        binary_method: The interval for unclustered pass/fail scores.
        resampler: Shares the bootstrap's drawn indices with other arrays of as many pairs; the
            interval is the same with or without it.

    Returns:
        The interval, or None without pairs.

    Raises:
        ValueError: *a* and *b* (or *clusters*) differ in length, a score is not finite, or an
            option is out of range.
    """
    check_probability("confidence", confidence)
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if xa.shape != xb.shape or xa.ndim != 1:
        raise ValueError(f"a and b must be two 1-D sequences of one score per pair, not {xa.shape} and {xb.shape}")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(xb))):
        raise ValueError("scores must be finite numbers; a case that could not be scored counts as 0.0")
    if binary_method not in ("tango", "newcombe"):
        raise ValueError(f"binary_method must be 'tango' or 'newcombe', not {binary_method!r}")
    n = len(xa)
    if n == 0:
        return None
    codes = _codes(clusters, n)
    clustered = codes is not None and shares_clusters(codes)
    d = xb - xa
    common = {
        "difference": float(d.mean()),
        "n_pairs": n,
        "n_discordant": int(np.count_nonzero(d)),
        "n_clusters": int(len(np.unique(codes))) if clustered and codes is not None else None,
        "confidence": confidence,
    }
    if is_binary(xa) and is_binary(xb):
        if clustered and codes is not None:
            if common["n_clusters"] is not None and common["n_clusters"] < MIN_CLUSTERS:
                return _betting(d, codes, common, "few_clusters", seed)
            return _tango_clustered(xa, xb, codes, common)
        return _binary(xa, xb, common, binary_method)
    bounded = is_unit_bounded(xa) and is_unit_bounded(xb)
    spread = estimate_mean(d, codes if clustered else None)
    if bounded:
        if spread is None or spread.se == 0.0:
            return _betting(d, codes if clustered else None, common, "no_spread", seed)
        if clustered and common["n_clusters"] is not None and common["n_clusters"] < MIN_CLUSTERS:
            return _betting(d, codes, common, "few_clusters", seed)
        if n < MIN_PAIRS:
            return _betting(d, codes if clustered else None, common, "few_pairs", seed)
    if clustered and spread is not None:
        low, high = spread.bounds(confidence)
        return _result(common, low, high, "cluster_t", spread.sd, bounded=bounded)
    if n < MIN_PAIRS or spread is None:
        estimate = spread or estimate_mean(d)
        sd = estimate.sd if estimate else 0.0
        low, high = estimate.bounds(confidence) if estimate else (-math.inf, math.inf)
        return _result(common, low, high, "t", sd, bounded=bounded)
    low, high = bca_interval(d, confidence=confidence, resamples=resamples, seed=seed, resampler=resampler)
    return _result(common, low, high, "bootstrap", float(d.std(ddof=1)), bounded=bounded)


def _codes(clusters: Sequence[str | None] | IntArray | None, n: int) -> IntArray | None:
    if clusters is None:
        return None
    if len(clusters) != n:
        raise ValueError(f"clusters must give one cluster per pair: {len(clusters)} for {n} pairs")
    if isinstance(clusters, np.ndarray) and np.issubdtype(clusters.dtype, np.integer):
        return clusters.astype(np.int64)
    numbers: dict[str, int] = {}
    codes = [
        numbers.setdefault(f"cluster:{label}" if label is not None else f"pair:{i}", len(numbers))
        for i, label in enumerate(clusters)
    ]
    return np.array(codes, dtype=np.int64)


def _counts(xa: FloatArray, xb: FloatArray) -> tuple[int, int, int, int]:
    both = int(np.count_nonzero((xa == 1) & (xb == 1)))
    only_b = int(np.count_nonzero((xa == 0) & (xb == 1)))
    only_a = int(np.count_nonzero((xa == 1) & (xb == 0)))
    return both, only_b, only_a, len(xa) - both - only_b - only_a


def _binary(
    xa: FloatArray, xb: FloatArray, common: dict[str, Any], method: Literal["tango", "newcombe"]
) -> PairedInterval:
    both, only_b, only_a, neither = _counts(xa, xb)
    n, z = len(xa), z_value(common["confidence"])
    if method == "tango":
        low, high = tango_bounds(only_b, only_a, n, z)
    else:
        low, high = newcombe_bounds(both, only_b, only_a, neither, z)
    low, high = one_way_bounds(only_b, only_a, n, low, high, common["confidence"])
    return _result(common, float(low), float(high), method, _binary_sd(only_b, only_a, n), bounded=True)


def _tango_clustered(xa: FloatArray, xb: FloatArray, codes: IntArray, common: dict[str, Any]) -> PairedInterval:
    # Rao-Scott: the clusters inflate the variance by the design effect, so the counts carry
    # 1 / deff of the information of independent pairs; never less than independent pairs carry.
    _, only_b, only_a, _ = _counts(xa, xb)
    n, d = len(xa), xb - xa
    independent, clustered = estimate_mean(d), estimate_mean(d, codes)
    deff = 1.0
    if independent is not None and clustered is not None and independent.se > 0:
        deff = max(1.0, (clustered.se / independent.se) ** 2)
    z = t_quantile(common["confidence"], int(common["n_clusters"]) - 1)
    low, high = tango_bounds(only_b / deff, only_a / deff, n / deff, z)
    sd = _binary_sd(only_b, only_a, n) * math.sqrt(deff)
    return _result(common, float(low), float(high), "tango_clustered", sd, bounded=True)


def _binary_sd(only_b: int, only_a: int, n: int) -> float:
    return math.sqrt(max((only_b + only_a) / n - ((only_b - only_a) / n) ** 2, 0.0))


def _betting(
    d: FloatArray, codes: IntArray | None, common: dict[str, Any], why: Fallback, seed: int
) -> PairedInterval:
    # Differences of scores in [0, 1] lie in [-1, 1]; the betting interval wants [0, 1].
    if codes is None:
        y, weights = (d + 1.0) / 2.0, None
    else:
        _, dense = np.unique(codes, return_inverse=True)
        dense = dense.reshape(-1)
        sizes = np.bincount(dense).astype(np.float64)
        y = (np.bincount(dense, weights=d) / sizes + 1.0) / 2.0
        weights = sizes / sizes.max()
    low, high = betting_interval(y, confidence=common["confidence"], seed=seed, weights=weights)
    estimate = estimate_mean(d, codes)
    sd = estimate.sd if estimate is not None else 0.0
    result = _result(common, 2.0 * low - 1.0, 2.0 * high - 1.0, "betting", sd, bounded=True)
    return PairedInterval(**{**result.to_dict(), "conservative": True, "fallback": why})


def _result(
    common: dict[str, Any], low: float, high: float, method: PairedMethod, sd: float, *, bounded: bool
) -> PairedInterval:
    if bounded:  # differences of scores in [0, 1] lie in [-1, 1]
        low, high = max(-1.0, low), min(1.0, high)
    difference = common["difference"]
    return PairedInterval(
        difference=difference,
        ci_low=min(low, difference),
        ci_high=max(high, difference),
        n_pairs=common["n_pairs"],
        n_discordant=common["n_discordant"],
        n_clusters=common["n_clusters"],
        method=method,
        conservative=False,
        fallback=None,
        confidence=common["confidence"],
        sd=sd,
    )
