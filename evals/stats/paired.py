"""Paired comparison of two runs on the same cases: B - A, with its interval, tests and power.

Per case the difference d_i = b_i - a_i of the per-case means is analysed as a mean (Miller 2024,
arXiv 2411.00640). The interval of the difference, overall and per segment, is
`evals.stats.difference.paired_interval`'s (Tango for pass/fail scores, a seeded bootstrap for
bounded continuous ones, cluster-aware when cases share a cluster, a conservative method where
those cannot be trusted): the same interval the advisor decides on, with `decide`'s outcome and
`cases_to_decide`'s size. The tests beside it: `p_value` is the paired t-test of no difference
(cluster-robust, t with G - 1 df); `noninferiority_p` is Tango's score test of difference <= -margin
for unclustered pass/fail scores (it agrees with the interval: p < (1 - confidence) / 2 exactly when
`ci_low > -margin`) and the one-sided t-test otherwise; pass/fail scores also get McNemar's exact test.

Which cases are pairs is `evals.pairing`'s rule: a case one side lacks (or has no score for) counts
as a failure, 0.0, for that side; a case the scorer could not judge is left out on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
from scipy import special

from evals.pairing import Pairs, ScoreTable, pair_runs
from evals.policy import default_margin
from evals.stats.bootstrap import Resampler
from evals.stats.decision import Outcome, cases_to_decide, decide
from evals.stats.difference import Fallback, PairedInterval, PairedMethod, paired_interval
from evals.stats.estimate import (
    FloatArray,
    IntArray,
    MeanEstimate,
    case_mean,
    check_probability,
    cluster_codes,
    estimate_mean,
    is_binary,
    shares_clusters,
)
from evals.stats.multiple import holm
from evals.stats.power import min_detectable_difference
from evals.stats.proportions import one_way_noninferiority_p, tango_score


@dataclass(frozen=True)
class PairedComparison:
    """Run B against run A on their cases, overall and per segment. Differences are B - A."""

    n_pairs: int
    """Cases compared: those either side has."""
    difference: float | None
    """Mean of B - A over the pairs; None without pairs."""
    ci_low: float | None
    """Lower bound of the interval of the difference (`paired_interval`, see `method`); None with
    fewer than 2 pairs."""
    ci_high: float | None
    """Upper bound, like `ci_low`."""
    p_value: float | None
    """Two-sided paired t-test of no difference (cluster-robust when clusters are shared).
    1 when every pair is tied; None when it cannot be computed (too few pairs, or no spread)."""
    mcnemar_p: float | None
    """Exact McNemar test (binomial on the discordant pairs) when every per-case score is 0 or 1."""
    noninferiority_p: float | None
    """One-sided test of H0: difference <= -margin; small means B is provably no worse than A by margin.
    Tango's score test for unclustered pass/fail scores (defined even when no pair differs), else the
    t-test (None without spread)."""
    min_detectable: float | None
    """Smallest true difference detected with the requested power at this number of cases (or clusters)."""
    cases_needed: int | None
    """Pairs needed to decide non-inferiority of an equal candidate at the interval's spread, with the
    requested power (`decision.cases_to_decide`: floored at one discordant pair, so never 0)."""
    margin: float
    """The non-inferiority margin used."""
    method: PairedMethod | None = None
    """How the interval was computed (`tango`, `bootstrap`, `cluster_t`, `betting`, ...); None without one."""
    conservative: bool = False
    """True when a conservative method (`betting`) replaced the one the data call for."""
    fallback: Fallback | None = None
    """Why it did: `few_pairs`, `few_clusters` or `no_spread`; None otherwise."""
    outcome: Outcome | None = None
    """`decide`'s verdict on the interval: `non_inferior` (ci_low > -margin), `inferior`
    (ci_high <= -margin) or `undecided`; None without an interval."""
    n_discordant: int = 0
    """Pairs whose two sides differ."""
    confidence: float = 0.95
    """Two-sided coverage of the interval."""
    p_value_holm: float | None = None
    """On segments only: `p_value` after Holm's correction across all segments."""
    segments: dict[str, PairedComparison] = field(default_factory=dict)
    """Tag -> the comparison restricted to cases carrying that tag."""
    unscorable_a: int = 0
    """Cases the scorer could not judge in A; each is left out of the pairs on both sides."""
    unscorable_b: int = 0
    """Cases the scorer could not judge in B, likewise."""
    unscorable_reasons: dict[str, int] = field(default_factory=dict)
    """Why cases were left out: reason (the score's error) -> cases (`evals.pairing.Pairs`)."""
    left_out: dict[str, int] = field(default_factory=dict)
    """Overall only: cases left out of the pairs, by reason (`unscorable`, `not_in_other_version`,
    `not_sampled`); a fact of the pairing, not a statistic, so `to_dict` leaves it to the document that
    names the runs."""

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
            "method": self.method,
            "conservative": self.conservative,
            "fallback": self.fallback,
            "outcome": None if self.outcome is None else self.outcome.value,
            "n_discordant": self.n_discordant,
            "confidence": self.confidence,
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
    seed: int = 0,
    resampler: Resampler | None = None,
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
        confidence: Coverage of the interval of the difference; its lower bound is the
            non-inferiority test, and `cases_needed` is sized at its one-sided level.
        alpha: Two-sided level for `min_detectable`.
        power: Power for `min_detectable` and `cases_needed`.
        seed: Seed of the bootstrap and betting intervals: same data, same numbers.
        resampler: Shares the bootstrap's drawn indices with other comparisons (and runs) of as many
            cases; the numbers are the same with or without it.

    Returns:
        The comparison, with `segments` when tags were given.
    """
    pairs = pair_runs(ScoreTable(values=a, tags=tags or {}, clusters=clusters or {}), ScoreTable(values=b))
    return compare_pairs(pairs, margin=margin, confidence=confidence, alpha=alpha, power=power, seed=seed,
                         resampler=resampler)


def compare_pairs(
    pairs: Pairs,
    *,
    margin: float | None = None,
    confidence: float = 0.95,
    alpha: float = 0.05,
    power: float = 0.8,
    seed: int = 0,
    resampler: Resampler | None = None,
) -> PairedComparison:
    """Compare run B with run A on the pairs `evals.pairing.pair_runs` made of their score tables.

    Args:
        pairs: The paired cases with both sides' values, tags and clusters.
        margin: As in `compare`.
        confidence: As in `compare`.
        alpha: As in `compare`.
        power: As in `compare`.
        seed: As in `compare`.
        resampler: As in `compare`.

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
    arrays = partial(_compare_arrays, margin=margin, confidence=confidence, alpha=alpha, power=power, seed=seed,
                     resampler=resampler)
    overall = replace(arrays(xa, xb, codes), unscorable_a=pairs.unscorable_a, unscorable_b=pairs.unscorable_b,
                      unscorable_reasons=dict(pairs.unscorable_reasons), left_out=pairs.left_out_counts())
    tags = pairs.tags
    if not tags:
        return overall

    segments: dict[str, PairedComparison] = {}
    for tag in sorted({tag for case_tags in tags.values() for tag in case_tags}):
        members = np.array([tag in tags.get(key, ()) for key in keys], dtype=bool)
        segments[tag] = arrays(xa[members], xb[members], codes[members])
    tested = {tag: seg.p_value for tag, seg in segments.items() if seg.p_value is not None}
    for tag, p_holm in zip(tested, holm(list(tested.values())), strict=True):
        segments[tag] = replace(segments[tag], p_value_holm=p_holm)
    return replace(overall, segments=segments)


def _compare_arrays(
    xa: FloatArray,
    xb: FloatArray,
    codes: IntArray,
    *,
    margin: float,
    confidence: float,
    alpha: float,
    power: float,
    seed: int,
    resampler: Resampler | None,
) -> PairedComparison:
    n = len(xa)
    d = xb - xa
    binary = bool(n) and is_binary(xa) and is_binary(xb)
    empty = PairedComparison(
        n_pairs=n,
        difference=float(d.mean()) if n else None,
        ci_low=None,
        ci_high=None,
        p_value=None,
        mcnemar_p=mcnemar_exact(xa, xb) if binary else None,
        noninferiority_p=None,
        min_detectable=None,
        cases_needed=None,
        margin=margin,
        n_discordant=int(np.count_nonzero(d)),
        confidence=confidence,
    )
    if n < 2:  # one pair has no spread to measure: no interval, no size
        return empty
    clustered = shares_clusters(codes)
    interval = paired_interval(xa, xb, clusters=codes if clustered else None, confidence=confidence, seed=seed,
                               resampler=resampler)
    assert interval is not None  # n >= 2
    estimate = estimate_mean(d, codes if clustered else None)
    tied = estimate is not None and estimate.se == 0 and estimate.mean == 0
    t_p = None if estimate is None else estimate.p_value(0.0)
    return replace(
        empty,
        ci_low=interval.ci_low,
        ci_high=interval.ci_high,
        p_value=1.0 if tied else t_p,
        noninferiority_p=_noninferiority_p(interval, xa, xb, margin, estimate),
        min_detectable=None if estimate is None else min_detectable_difference(estimate.sd, n, alpha=alpha,
                                                                               power=power),
        cases_needed=cases_to_decide(interval, margin=margin, power=power),
        method=interval.method,
        conservative=interval.conservative,
        fallback=interval.fallback,
        outcome=decide(interval, margin=margin),
    )


def _noninferiority_p(
    interval: PairedInterval, xa: FloatArray, xb: FloatArray, margin: float, estimate: MeanEstimate | None
) -> float | None:
    if interval.method == "tango":
        only_b = float(np.count_nonzero((xa == 0) & (xb == 1)))
        only_a = float(np.count_nonzero((xa == 1) & (xb == 0)))
        score = tango_score(np.array([only_b]), np.array([only_a]), np.array([float(len(xa))]),
                            np.array([-margin]))
        # The interval's one-way widening has its exact test: the larger p keeps the two in step.
        exact = one_way_noninferiority_p(int(only_b), int(only_a), len(xa), margin)
        return max(float(special.ndtr(-score[0])), exact)
    return None if estimate is None else estimate.p_greater(-margin)


def mcnemar_exact(xa: FloatArray, xb: FloatArray) -> float:
    """Exact McNemar p-value for paired pass/fail (0/1) scores: a binomial test on the discordant pairs."""
    only_b = int(np.count_nonzero((xa == 0) & (xb == 1)))
    only_a = int(np.count_nonzero((xa == 1) & (xb == 0)))
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    return min(1.0, float(2.0 * special.bdtr(min(only_a, only_b), discordant, 0.5)))
