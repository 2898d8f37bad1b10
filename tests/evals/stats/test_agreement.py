"""evals.stats agrees with scipy and statsmodels on fixed data: exactly for closed forms, within
tolerance for resampling and for the normal-approximation power formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_confint

from evals.stats import cases_needed, compare, holm, min_detectable_difference, summarize, wilson_interval


def as_values(xs: np.ndarray) -> dict[str, list[float]]:
    return {f"case-{i:03d}": [float(x)] for i, x in enumerate(xs)}


def clustered_ols(y: np.ndarray, groups: np.ndarray) -> sm.regression.linear_model.RegressionResultsWrapper:
    """Intercept-only OLS with cluster-robust SEs: its (N-1)/(N-K) factor is 1 at K=1, leaving G/(G-1)."""
    return sm.OLS(y, np.ones(len(y))).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)


@pytest.mark.parametrize(("successes", "n"), [(0, 10), (10, 10), (3, 10), (17, 40), (1, 200), (499, 1000)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_statsmodels(successes: int, n: int, confidence: float) -> None:
    expected = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")

    assert wilson_interval(successes, n, confidence) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_summarize_of_pass_fail_is_wilson() -> None:
    xs = np.random.default_rng(7).random(60) < 0.3

    interval = summarize(as_values(xs))

    assert interval.method == "wilson"
    assert interval.mean == pytest.approx(xs.mean())
    low, high = proportion_confint(int(xs.sum()), len(xs), alpha=0.05, method="wilson")
    assert (interval.ci_low, interval.ci_high) == pytest.approx((low, high), rel=1e-12)


def test_summarize_t_interval_matches_scipy() -> None:
    xs = np.random.default_rng(8).normal(3.0, 2.0, 25)  # unbounded, so neither clipped nor bootstrapped

    interval = summarize(as_values(xs))

    expected = stats.ttest_1samp(xs, 0.0).confidence_interval(0.95)
    assert interval.method == "t"
    assert (interval.ci_low, interval.ci_high) == pytest.approx((expected.low, expected.high), rel=1e-12)


def test_paired_unclustered_matches_ttest_rel() -> None:
    rng = np.random.default_rng(9)
    a = rng.normal(10.0, 3.0, 40)
    b = a + rng.normal(0.8, 2.0, 40)

    result = compare(as_values(a), as_values(b), margin=0.5)

    expected = stats.ttest_rel(b, a)
    ci = expected.confidence_interval(0.95)
    assert result.difference == pytest.approx(np.mean(b - a), rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-10)
    assert (result.ci_low, result.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    noninferior = stats.ttest_1samp(b - a, -0.5, alternative="greater")
    assert result.noninferiority_p == pytest.approx(noninferior.pvalue, rel=1e-10)


def test_clustered_interval_matches_statsmodels_cluster_ols() -> None:
    rng = np.random.default_rng(10)
    sizes = rng.integers(1, 7, 15)  # unequal clusters, some of one case
    groups = np.repeat(np.arange(15), sizes)
    y = rng.normal(5.0, 2.0, len(groups)) + rng.normal(0.0, 1.5, 15)[groups]

    interval = summarize(as_values(y), clusters={f"case-{i:03d}": f"doc-{g}" for i, g in enumerate(groups)})

    fit = clustered_ols(y, groups)
    assert interval.method == "clustered"
    assert interval.n_clusters == 15
    assert (interval.ci_low, interval.ci_high) == pytest.approx(tuple(fit.conf_int(0.05)[0]), rel=1e-12)


def test_unclustered_cases_count_as_their_own_clusters() -> None:
    rng = np.random.default_rng(11)
    y = rng.normal(5.0, 2.0, 30)
    clusters: dict[str, str | None] = {f"case-{i:03d}": ("doc-a" if i < 4 else None) for i in range(30)}

    interval = summarize(as_values(y), clusters=clusters)

    fit = clustered_ols(y, np.array([0] * 4 + list(range(1, 27))))
    assert interval.n_clusters == 27
    assert (interval.ci_low, interval.ci_high) == pytest.approx(tuple(fit.conf_int(0.05)[0]), rel=1e-12)


def test_clustered_paired_test_matches_statsmodels_on_differences() -> None:
    rng = np.random.default_rng(12)
    groups = np.repeat(np.arange(20), 4)
    a = rng.normal(0.0, 1.0, 80) + rng.normal(0.0, 1.0, 20)[groups]
    b = a + 0.3 + rng.normal(0.0, 1.0, 80) + rng.normal(0.0, 0.5, 20)[groups]

    result = compare(
        as_values(a), as_values(b), clusters={f"case-{i:03d}": f"doc-{g}" for i, g in enumerate(groups)}
    )

    fit = clustered_ols(b - a, groups)
    assert result.p_value == pytest.approx(fit.pvalues[0], rel=1e-10)
    assert (result.ci_low, result.ci_high) == pytest.approx(tuple(fit.conf_int(0.05)[0]), rel=1e-12)
    se = fit.bse[0]
    assert result.min_detectable == pytest.approx((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * se, rel=1e-12)


@pytest.mark.parametrize(
    ("only_a", "only_b", "both", "neither"), [(3, 11, 20, 6), (5, 5, 1, 0), (0, 0, 7, 3), (0, 9, 0, 0)]
)
def test_mcnemar_matches_statsmodels_exact(only_a: int, only_b: int, both: int, neither: int) -> None:
    a = [1.0] * only_a + [0.0] * only_b + [1.0] * both + [0.0] * neither
    b = [0.0] * only_a + [1.0] * only_b + [1.0] * both + [0.0] * neither

    result = compare(as_values(np.array(a)), as_values(np.array(b)))

    expected = mcnemar([[both, only_a], [only_b, neither]], exact=True).pvalue
    assert result.mcnemar_p == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "p_values",
    [[0.01, 0.04, 0.03, 0.005], [0.2, 0.2, 0.01, 1.0, 0.049], [0.5], [], [0.001] * 4, [0.3, 0.02, 0.9, 0.04, 0.04]],
)
def test_holm_matches_statsmodels(p_values: list[float]) -> None:
    adjusted = holm(p_values)

    expected = multipletests(p_values, method="holm")[1] if p_values else []
    assert adjusted == pytest.approx(list(expected), rel=1e-12)


@pytest.mark.parametrize(("sd", "n"), [(0.4, 50), (0.1, 400), (1.3, 12)])
def test_min_detectable_difference_matches_statsmodels_power(sd: float, n: int) -> None:
    effect = NormalIndPower().solve_power(effect_size=None, nobs1=n, alpha=0.05, power=0.8, ratio=0)

    assert min_detectable_difference(sd, n) == pytest.approx(effect * sd, rel=1e-4)


@pytest.mark.parametrize(
    ("sd", "margin", "alpha", "power"), [(0.4, 0.05, 0.05, 0.8), (0.3, 0.02, 0.05, 0.9), (1.0, 0.25, 0.01, 0.8)]
)
def test_cases_needed_matches_statsmodels_power(sd: float, margin: float, alpha: float, power: float) -> None:
    nobs = NormalIndPower().solve_power(effect_size=margin / sd, nobs1=None, alpha=alpha, power=power, ratio=0)

    assert cases_needed(sd, margin, alpha=alpha, power=power) == math.ceil(nobs)


def test_bootstrap_matches_scipy_bca_within_monte_carlo_error() -> None:
    xs = np.random.default_rng(13).beta(0.5, 4.0, 40)  # bounded and skewed

    interval = summarize(as_values(xs))

    reference = stats.bootstrap((xs,), np.mean, method="BCa", n_resamples=50_000, rng=np.random.default_rng(1))
    assert interval.method == "bootstrap"
    ci = reference.confidence_interval
    assert interval.ci_low == pytest.approx(ci.low, abs=0.003)
    assert interval.ci_high == pytest.approx(ci.high, abs=0.003)
