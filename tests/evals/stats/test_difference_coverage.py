"""Coverage of `paired_interval`: exact for pass/fail scores, by seeded simulation for the rest.

Pass/fail: the exact coverage (every table of the multinomial, `exact_coverage`) at n = 30, 100,
1,000, discordance 0, 1 % and 10 %, a true difference of 0, half the discordance or all of it (every
discordant pair one way) either way, and a production pass rate of 0.5 or 0.9, must be >= 94 % for a
95 % interval. The one-way corner is where the score intervals alone dip (Tango to 93.6 %, Newcombe
to 92.7 %); `paired_interval` widens them there to the exact interval (`one_way_bounds`).

Simulation: 400 seeded runs (Monte-Carlo SE about 1.1 points at 95 %), within 2.5 points of 95 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from evals.stats.difference import MIN_CLUSTERS, MIN_PAIRS, PairedInterval, paired_interval
from evals.stats.exact_coverage import exact_coverage
from evals.stats.proportions import tango_interval

SIMULATIONS = 400
BAND = (0.925, 0.975)
GRID = [
    (n, discordance, share, rate)
    for n in (30, 100, 1000)
    for discordance in (0.0, 0.01, 0.10)
    for share in ((0.0,) if discordance == 0 else (-1.0, -0.5, 0.0, 0.5, 1.0))
    for rate in (0.5, 0.9)
]


def cells(discordance: float, share: float, rate: float) -> dict[str, float]:
    """Cell probabilities with P(only B) - P(only A) = share * discordance and P(A passes) = rate."""
    only_b, only_a = discordance * (1 + share) / 2, discordance * (1 - share) / 2
    return {"p_only_b": only_b, "p_only_a": only_a, "p_both": rate - only_a}


@pytest.mark.parametrize("method", ["tango", "newcombe"])
@pytest.mark.parametrize(("n", "discordance", "share", "rate"), GRID)
def test_binary_intervals_keep_their_exact_coverage(
    method: str, n: int, discordance: float, share: float, rate: float
) -> None:
    result = exact_coverage(method, n=n, **cells(discordance, share, rate))  # type: ignore[arg-type]

    assert result.mass > 1 - 1e-8
    assert result.coverage >= 0.94


@pytest.mark.parametrize(
    ("method", "n", "discordance", "share"),
    [("tango", 100, 0.10, -1.0), ("newcombe", 1000, 0.01, 1.0), ("newcombe", 100, 0.10, 1.0)],
)
def test_the_score_intervals_alone_undercover_where_all_discordance_goes_one_way(
    method: str, n: int, discordance: float, share: float
) -> None:
    # Why the widening exists: without it these corners of the grid above fail.
    plain = exact_coverage(method, n=n, one_way=False, **cells(discordance, share, 0.5))  # type: ignore[arg-type]
    widened = exact_coverage(method, n=n, **cells(discordance, share, 0.5))  # type: ignore[arg-type]

    assert plain.coverage < 0.94 <= 0.95 <= widened.coverage
    assert plain.width <= widened.width <= plain.width * 1.2


def test_the_widening_is_exact_in_the_one_way_corner_at_any_n() -> None:
    # Every table has c = 0 there, so the interval holds Clopper-Pearson's: coverage >= nominal.
    for n in (10, 55, 300, 2000):
        for discordance in (0.003, 0.05, 0.3):
            for method in ("tango", "newcombe"):
                coverage = exact_coverage(method, n=n, **cells(discordance, 1.0, 0.5)).coverage  # type: ignore[arg-type]
                assert coverage >= 0.95 - 1e-9, (method, n, discordance)


def test_the_widening_leaves_tables_with_discordance_both_ways_alone() -> None:
    rng = np.random.default_rng(3)
    a, b = (rng.random(200) < 0.7).astype(float), (rng.random(200) < 0.7).astype(float)
    result = _interval(a, b)
    only_b, only_a = int(np.sum((a == 0) & (b == 1))), int(np.sum((a == 1) & (b == 0)))

    assert min(only_b, only_a) > 0
    assert (result.ci_low, result.ci_high) == pytest.approx(tango_interval(only_b, only_a, 200))


def _interval(a: np.ndarray, b: np.ndarray, **options: object) -> PairedInterval:
    result = paired_interval(a, b, **options)  # type: ignore[arg-type]
    assert result is not None
    return result


def simulated_coverage(results: list[PairedInterval], truth: float) -> float:
    return float(np.mean([r.ci_low <= truth <= r.ci_high for r in results]))


def test_bootstrap_covers_a_bounded_continuous_difference() -> None:
    # Case difficulty u ~ Beta(2, 5) shared by both sides (skewed); B adds noise that averages +0.03.
    rng = np.random.default_rng(20250301)
    n = MIN_PAIRS
    u = rng.beta(2.0, 5.0, (SIMULATIONS, n))
    a = u
    b = np.clip(u + rng.normal(0.03, 0.15, (SIMULATIONS, n)), 0.0, 1.0)
    truth = _clipped_mean_shift(0.03, 0.15, seed=7)

    results = [_interval(a[i], b[i], seed=i, resamples=1000) for i in range(SIMULATIONS)]

    assert {r.method for r in results} == {"bootstrap"}
    assert not any(r.conservative for r in results)
    assert BAND[0] <= simulated_coverage(results, truth) <= BAND[1]


def _clipped_mean_shift(shift: float, noise: float, *, seed: int) -> float:
    # E[clip(u + e, 0, 1) - u] by a large Monte-Carlo sum (SE ~ 1e-4, far below the test's band).
    rng = np.random.default_rng(seed)
    u = rng.beta(2.0, 5.0, 2_000_000)
    return float(np.mean(np.clip(u + rng.normal(shift, noise, u.size), 0.0, 1.0) - u))


def clustered_data(
    seed: int, *, clusters: int, size: int, binary: bool
) -> tuple[np.ndarray, np.ndarray, list[str], float]:
    """Documents share a difficulty (intra-cluster correlation); B is better by 0.05 on average."""
    rng = np.random.default_rng(seed)
    doc = rng.beta(3.0, 2.0, (SIMULATIONS, clusters, 1))  # per-document pass rate of A, mean 0.6
    if binary:
        a = rng.random((SIMULATIONS, clusters, size)) < doc
        b = rng.random((SIMULATIONS, clusters, size)) < np.minimum(doc + 0.05, 1.0)
        truth = float(np.mean(np.minimum(rng.beta(3.0, 2.0, 2_000_000) + 0.05, 1.0)) - 0.6)
    else:
        a = np.clip(doc + rng.normal(0.0, 0.1, (SIMULATIONS, clusters, size)), 0, 1)
        b = np.clip(a + doc * 0.1 + rng.normal(0.0, 0.1, (SIMULATIONS, clusters, size)), 0, 1)
        big = np.random.default_rng(seed + 1)
        d0 = big.beta(3.0, 2.0, 1_000_000)
        a0 = np.clip(d0 + big.normal(0.0, 0.1, d0.size), 0, 1)
        truth = float(np.mean(np.clip(a0 + d0 * 0.1 + big.normal(0.0, 0.1, d0.size), 0, 1) - a0))
    labels = [f"doc-{i // size}" for i in range(clusters * size)]
    shape = (SIMULATIONS, clusters * size)
    return a.reshape(shape).astype(float), b.reshape(shape).astype(float), labels, truth


@pytest.mark.parametrize(("binary", "method"), [(True, "tango_clustered"), (False, "cluster_t")])
def test_clustered_intervals_cover_the_true_difference(binary: bool, method: str) -> None:
    a, b, labels, truth = clustered_data(20250302 + binary, clusters=30, size=5, binary=binary)

    results = [_interval(a[i], b[i], clusters=labels) for i in range(SIMULATIONS)]

    assert {r.method for r in results} == {method}
    assert {r.n_clusters for r in results} == {30}
    assert BAND[0] <= simulated_coverage(results, truth) <= BAND[1]


def test_thirty_continuous_pairs_get_the_conservative_betting_interval_and_cover() -> None:
    rng = np.random.default_rng(20250303)
    u = rng.beta(2.0, 5.0, (SIMULATIONS, 30))
    b = np.clip(u + rng.normal(0.03, 0.15, u.shape), 0.0, 1.0)
    truth = _clipped_mean_shift(0.03, 0.15, seed=7)

    results = [_interval(u[i], b[i], seed=i) for i in range(SIMULATIONS // 2)]

    assert {(r.method, r.conservative, r.fallback) for r in results} == {("betting", True, "few_pairs")}
    assert simulated_coverage(results, truth) >= 0.95


@pytest.mark.parametrize("binary", [True, False])
def test_fewer_than_ten_clusters_get_the_conservative_method_and_cover(binary: bool) -> None:
    a, b, labels, truth = clustered_data(20250304 + binary, clusters=MIN_CLUSTERS - 2, size=15, binary=binary)

    results = [_interval(a[i], b[i], clusters=labels, seed=i) for i in range(100)]

    assert {(r.method, r.conservative, r.fallback) for r in results} == {("betting", True, "few_clusters")}
    assert simulated_coverage(results, truth) >= 0.95
