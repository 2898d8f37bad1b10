"""The mean score of a run, or of one segment of it, with a confidence interval.

The interval's method is chosen from the data (Miller 2024, arXiv 2411.00640):

- cases share a cluster -> CLT with a cluster-robust standard error, t with G - 1 df ("clustered");
- every case scores exactly 0 or 1 -> Wilson score interval ("wilson");
- scores in [0, 1], not all 0/1, skewed (|sample skewness| > 1) -> seeded BCa bootstrap ("bootstrap");
- otherwise -> CLT with a t quantile ("t").

Intervals of scores that lie in [0, 1] are clipped to [0, 1], where the true mean must lie.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import special

from evals.stats.bootstrap import Resampler, bca_interval
from evals.stats.estimate import (
    FloatArray,
    case_means,
    check_probability,
    cluster_codes,
    estimate_mean,
    is_binary,
    is_unit_bounded,
    shares_clusters,
    skewness,
)

IntervalMethod = Literal["wilson", "clustered", "bootstrap", "t", "none"]
"""How an interval was computed; "none" when there were too few cases for one."""

SKEWED = 1.0
"""|sample skewness| above which bounded continuous scores get a bootstrap interval, not a t one."""


@dataclass(frozen=True)
class Interval:
    """A mean with its confidence interval."""

    mean: float | None
    """Mean of the per-case means; None without cases."""
    ci_low: float | None
    """Lower bound; None when there are fewer than 2 cases (or 2 clusters)."""
    ci_high: float | None
    """Upper bound; None like `ci_low`."""
    n: int
    """Cases (after averaging repetitions within each case)."""
    n_clusters: int | None
    """Clusters behind a "clustered" interval; None for the other methods."""
    method: IntervalMethod
    """How the interval was computed."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: mean, ci_low, ci_high, n, n_clusters, method."""
        return {
            "mean": self.mean,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "n_clusters": self.n_clusters,
            "method": self.method,
        }


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a proportion.

    Args:
        successes: Cases that passed.
        n: Cases; at least 1.
        confidence: Coverage of the interval.

    Returns:
        (low, high), inside [0, 1] and containing successes / n.
    """
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1, not successes={successes}, n={n}")
    check_probability("confidence", confidence)
    z = float(special.ndtri(0.5 + confidence / 2.0))
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    # Clamp so rounding never leaves the estimate (e.g. 1e-17 above it at p = 0) or [0, 1].
    return max(0.0, min(centre - half, p)), min(1.0, max(centre + half, p))


def summarize(
    values: Mapping[str, Sequence[float]],
    *,
    clusters: Mapping[str, str | None] | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    resampler: Resampler | None = None,
) -> Interval:
    """The mean per-case score with a confidence interval.

    Args:
        values: Case key -> that case's scores (one per repetition); averaged within the case first.
            Cases with no score are left out.
        clusters: Case key -> cluster (e.g. source document); missing or None means a cluster of its own.
        confidence: Coverage of the interval.
        resamples: Bootstrap resamples, when the bootstrap is the method.
        seed: Bootstrap seed; the same data always give the same interval.
        resampler: Shares the bootstrap's drawn indices with other runs of as many cases; the interval
            is the same with or without it.

    Returns:
        The interval; with no case everything is None ("none"), with one case only the mean is set.
    """
    check_probability("confidence", confidence)
    keys, x = case_means(values)
    return _summarize(keys, x, clusters, confidence=confidence, resamples=resamples, seed=seed, resampler=resampler)


def _summarize(
    keys: Sequence[str],
    x: FloatArray,
    clusters: Mapping[str, str | None] | None,
    *,
    confidence: float,
    resamples: int,
    seed: int,
    resampler: Resampler | None,
) -> Interval:
    n = len(x)
    if n == 0:
        return Interval(mean=None, ci_low=None, ci_high=None, n=0, n_clusters=None, method="none")
    mean = float(x.mean())
    if n == 1:
        return Interval(mean=mean, ci_low=None, ci_high=None, n=1, n_clusters=None, method="none")

    bounded = is_unit_bounded(x)
    codes = cluster_codes(keys, clusters)
    method: IntervalMethod
    n_clusters: int | None = None
    low: float | None
    high: float | None
    if shares_clusters(codes):
        method = "clustered"
        estimate = estimate_mean(x, codes)
        if estimate is None:  # a single cluster: no spread between clusters to measure
            return Interval(mean=mean, ci_low=None, ci_high=None, n=n, n_clusters=1, method=method)
        n_clusters = estimate.n_clusters
        low, high = estimate.bounds(confidence)
    elif is_binary(x):
        method = "wilson"
        low, high = wilson_interval(int(x.sum()), n, confidence)
    elif bounded and abs(skewness(x)) > SKEWED:
        method = "bootstrap"
        low, high = bca_interval(x, confidence=confidence, resamples=resamples, seed=seed, resampler=resampler)
    else:
        method = "t"
        estimate = estimate_mean(x)
        assert estimate is not None  # n >= 2
        low, high = estimate.bounds(confidence)
    if bounded:
        low, high = max(0.0, low), min(1.0, high)
    return Interval(mean=mean, ci_low=low, ci_high=high, n=n, n_clusters=n_clusters, method=method)


def summarize_segments(
    values: Mapping[str, Sequence[float]],
    *,
    tags: Mapping[str, Sequence[str]],
    clusters: Mapping[str, str | None] | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    resampler: Resampler | None = None,
) -> dict[str, Interval]:
    """`summarize` for each segment: the cases carrying one tag.

    Args:
        values: As for `summarize`.
        tags: Case key -> its tags. Every tag named here gets a segment, even one without scored cases.
        clusters: As for `summarize`; clusters are judged shared within each segment.
        confidence: As for `summarize`.
        resamples: As for `summarize`.
        seed: As for `summarize`.
        resampler: As for `summarize`.

    Returns:
        Tag -> interval, in tag order.
    """
    check_probability("confidence", confidence)
    # Average each tagged case once; a segment is a subset of those, in the same (sorted) order.
    keys, x = case_means({key: reps for key, reps in values.items() if tags.get(key)})
    segments: dict[str, Interval] = {}
    for tag in sorted({tag for case_tags in tags.values() for tag in case_tags}):
        members = np.array([tag in tags[key] for key in keys], dtype=bool)
        segment_keys = [key for key, member in zip(keys, members, strict=True) if member]
        segments[tag] = _summarize(segment_keys, x[members], clusters, confidence=confidence, resamples=resamples,
                                   seed=seed, resampler=resampler)
    return segments
