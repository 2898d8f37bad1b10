"""Paired comparison of two runs on the same cases: B - A, with its interval, tests and power.

Per case the difference d_i = b_i - a_i of the per-case means is analysed as a mean (Miller 2024,
arXiv 2411.00640): a paired t interval and test, cluster-robust (t with G - 1 df) when cases share
a cluster. Pass/fail scores also get McNemar's exact test.

Which cases are pairs is `evals.pairing`'s rule: a case one side lacks (or has no score for) counts
as a failure, 0.0, for that side; a case the scorer could not judge is left out on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import special

from evals.pairing import Pairs, ScoreTable, pair_runs
from evals.policy import default_margin
from evals.stats.estimate import (
    FloatArray,
    IntArray,
    case_mean,
    check_probability,
    cluster_codes,
    estimate_mean,
    is_binary,
    shares_clusters,
)
from evals.stats.multiple import holm
from evals.stats.power import cases_needed, min_detectable_difference


@dataclass(frozen=True)
class PairedComparison:
    """Run B against run A on their cases, overall and per segment. Differences are B - A."""

    n_pairs: int
    """Cases compared: those either side has."""
    difference: float | None
    """Mean of B - A over the pairs; None without pairs."""
    ci_low: float | None
    """Lower bound of the interval of the difference; None with fewer than 2 pairs (or clusters)."""
    ci_high: float | None
    """Upper bound, like `ci_low`."""
    p_value: float | None
    """Two-sided paired t-test of no difference (cluster-robust when clusters are shared).
    1 when every pair is tied; None when it cannot be computed (too few pairs, or no spread)."""
    mcnemar_p: float | None
    """Exact McNemar test (binomial on the discordant pairs) when every per-case score is 0 or 1."""
    noninferiority_p: float | None
    """One-sided test of H0: difference <= -margin; small means B is provably no worse than A by margin."""
    min_detectable: float | None
    """Smallest true difference detected with the requested power at this number of cases (or clusters)."""
    cases_needed: int | None
    """Cases needed to detect a difference of `margin` with that power, at the observed spread."""
    margin: float
    """The non-inferiority margin used."""
    p_value_holm: float | None = None
    """On segments only: `p_value` after Holm's correction across all segments."""
    segments: dict[str, PairedComparison] = field(default_factory=dict)
    """Tag -> the comparison restricted to cases carrying that tag."""
    left_out: dict[str, int] = field(default_factory=dict)
    """Overall only: cases left out of the pairs, by reason (`unscorable`, `not_in_other_version`); a
    fact of the pairing, not a statistic, so `to_dict` leaves it to the document that names the runs."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; segments add `p_value_holm` and carry no segments of their own."""
        out = self._scalars()
        out["segments"] = {
            tag: {**seg._scalars(), "p_value_holm": seg.p_value_holm} for tag, seg in self.segments.items()
        }
        return out

    def _scalars(self) -> dict[str, Any]:
        return {
            "n_pairs": self.n_pairs,
            "difference": self.difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "mcnemar_p": self.mcnemar_p,
            "noninferiority_p": self.noninferiority_p,
            "min_detectable": self.min_detectable,
            "cases_needed": self.cases_needed,
            "margin": self.margin,
        }


def compare(
    a: Mapping[str, Sequence[float]],
    b: Mapping[str, Sequence[float]],
    *,
    clusters: Mapping[str, str | None] | None = None,
    tags: Mapping[str, Sequence[str]] | None = None,
    margin: float | None = None,
    confidence: float = 0.95,
    alpha: float = 0.05,
    power: float = 0.8,
) -> PairedComparison:
    """Compare run B with run A on the cases they share by key (the case's content hash).

    A key only one side has counts as a failure (0.0) for the side that lacks it, never as a
    missing pair; so does a key whose score list is empty.

    Args:
        a: Case key -> run A's scores for it (one per repetition; averaged within the case).
        b: Case key -> run B's scores, likewise.
        clusters: Case key -> cluster; cases sharing one make every interval and test cluster-robust.
        tags: Case key -> tags; each tag gets a segment, and the segments' p-values a Holm correction.
        margin: Non-inferiority margin (>= 0), and the difference `cases_needed` is sized for; None is
            the policy's default (`evals.policy.default_margin`).
        confidence: Coverage of the interval of the difference.
        alpha: Two-sided level for `min_detectable` and `cases_needed`.
        power: Power for `min_detectable` and `cases_needed`.

    Returns:
        The comparison, with `segments` when tags were given.
    """
    pairs = pair_runs(ScoreTable(values=a, tags=tags or {}, clusters=clusters or {}), ScoreTable(values=b))
    return compare_pairs(pairs, margin=margin, confidence=confidence, alpha=alpha, power=power)


def compare_pairs(
    pairs: Pairs,
    *,
    margin: float | None = None,
    confidence: float = 0.95,
    alpha: float = 0.05,
    power: float = 0.8,
) -> PairedComparison:
    """Compare run B with run A on the pairs `evals.pairing.pair_runs` made of their score tables.

    Args:
        pairs: The paired cases with both sides' values, tags and clusters.
        margin: As in `compare`.
        confidence: As in `compare`.
        alpha: As in `compare`.
        power: As in `compare`.

    Returns:
        The comparison, with `segments` when the cases carry tags.
    """
    if margin is None:
        margin = default_margin()
    if margin < 0:
        raise ValueError(f"margin is how much worse B may be, a size >= 0, not {margin}")
    check_probability("confidence", confidence)
    check_probability("alpha", alpha)
    check_probability("power", power)
    keys = list(pairs.keys)
    xa = np.array([case_mean(key, pairs.a[key]) for key in keys], dtype=np.float64)
    xb = np.array([case_mean(key, pairs.b[key]) for key in keys], dtype=np.float64)
    codes = cluster_codes(keys, pairs.clusters)
    options = {"margin": margin, "confidence": confidence, "alpha": alpha, "power": power}
    overall = replace(_compare_arrays(xa, xb, codes, **options), left_out=pairs.left_out_counts())
    tags = pairs.tags
    if not tags:
        return overall

    segments: dict[str, PairedComparison] = {}
    for tag in sorted({tag for case_tags in tags.values() for tag in case_tags}):
        members = np.array([tag in tags.get(key, ()) for key in keys], dtype=bool)
        segments[tag] = _compare_arrays(xa[members], xb[members], codes[members], **options)
    tested = {tag: seg.p_value for tag, seg in segments.items() if seg.p_value is not None}
    for tag, p_holm in zip(tested, holm(list(tested.values())), strict=True):
        segments[tag] = replace(segments[tag], p_value_holm=p_holm)
    return replace(overall, segments=segments)


def _compare_arrays(
    xa: FloatArray, xb: FloatArray, codes: IntArray, *, margin: float, confidence: float, alpha: float, power: float
) -> PairedComparison:
    n = len(xa)
    d = xb - xa
    bounded = bool(np.all((xa >= 0) & (xa <= 1) & (xb >= 0) & (xb <= 1)))
    empty = PairedComparison(
        n_pairs=n,
        difference=float(d.mean()) if n else None,
        ci_low=None,
        ci_high=None,
        p_value=None,
        mcnemar_p=mcnemar_exact(xa, xb) if n and is_binary(xa) and is_binary(xb) else None,
        noninferiority_p=None,
        min_detectable=None,
        cases_needed=None,
        margin=margin,
    )
    estimate = estimate_mean(d, codes if shares_clusters(codes) else None)
    if estimate is None:
        return empty
    low, high = estimate.bounds(confidence)
    if bounded:  # differences of scores in [0, 1] lie in [-1, 1]
        low, high = max(-1.0, low), min(1.0, high)
    tied = estimate.se == 0 and estimate.mean == 0
    return replace(
        empty,
        ci_low=low,
        ci_high=high,
        p_value=1.0 if tied else estimate.p_value(0.0),
        noninferiority_p=estimate.p_greater(-margin),
        min_detectable=min_detectable_difference(estimate.sd, n, alpha=alpha, power=power),
        cases_needed=cases_needed(estimate.sd, margin, alpha=alpha, power=power),
    )


def mcnemar_exact(xa: FloatArray, xb: FloatArray) -> float:
    """Exact McNemar p-value for paired pass/fail (0/1) scores: a binomial test on the discordant pairs."""
    only_b = int(np.count_nonzero((xa == 0) & (xb == 1)))
    only_a = int(np.count_nonzero((xa == 1) & (xb == 0)))
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    return min(1.0, float(2.0 * special.bdtr(min(only_a, only_b), discordant, 0.5)))
