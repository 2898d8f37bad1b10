"""Coverage by simulation: a 95 % interval covers the true mean in 93-97 % of 2,000 simulated runs.

The data of all runs are drawn at once with numpy from fixed seeds, so the tests are deterministic;
each run then goes through the public functions, exactly as a real run would. With 2,000 runs the
Monte-Carlo standard error of a coverage of 95 % is 0.5 points, so the 93-97 band is 4 of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as scipy_stats

from evals.stats import Interval, PairedComparison, compare, summarize

RUNS = 2000
BAND = (0.93, 0.97)


def as_values(row: np.ndarray) -> dict[str, list[float]]:
    return {f"case-{i:03d}": [float(x)] for i, x in enumerate(row)}


def coverage(results: list[Interval] | list[PairedComparison], truth: float) -> float:
    def bound(result: Interval | PairedComparison) -> tuple[float, float]:
        assert result.ci_low is not None and result.ci_high is not None
        return result.ci_low, result.ci_high

    return float(np.mean([low <= truth <= high for low, high in map(bound, results)]))


def summarize_all(data: np.ndarray, **options: object) -> list[Interval]:
    run: Callable[..., Interval] = summarize
    return [run(as_values(row), **options) for row in data]


def test_wilson_covers_pass_fail_rates() -> None:
    rng = np.random.default_rng(20241101)
    data = (rng.random((RUNS, 100)) < 0.2).astype(float)

    intervals = summarize_all(data)

    assert {i.method for i in intervals} == {"wilson"}
    assert BAND[0] <= coverage(intervals, 0.2) <= BAND[1]


def test_t_interval_covers_continuous_means() -> None:
    rng = np.random.default_rng(20241102)
    data = rng.gamma(4.0, 2.0, (RUNS, 30))  # unbounded and mildly skewed, true mean 8

    intervals = summarize_all(data)

    assert {i.method for i in intervals} == {"t"}
    assert BAND[0] <= coverage(intervals, 8.0) <= BAND[1]


def test_clustered_interval_covers_correlated_pass_fail() -> None:
    # 40 documents of 5 questions each; a document's pass rate ~ Beta(2.4, 1.6): mean 0.6,
    # intra-cluster correlation 1 / (2.4 + 1.6 + 1) = 0.2, design effect 1 + 4 * 0.2 = 1.8.
    rng = np.random.default_rng(20241103)
    clusters, size = 40, 5
    rate = rng.beta(2.4, 1.6, (RUNS, clusters, 1))
    data = (rng.random((RUNS, clusters, size)) < rate).reshape(RUNS, clusters * size).astype(float)
    docs = {f"case-{i:03d}": f"doc-{i // size}" for i in range(clusters * size)}

    clustered = summarize_all(data, clusters=docs)
    naive = summarize_all(data[:500])

    assert {i.method for i in clustered} == {"clustered"}
    assert {i.n_clusters for i in clustered} == {clusters}
    assert BAND[0] <= coverage(clustered, 0.6) <= BAND[1]
    assert coverage(naive, 0.6) < 0.9  # ignoring the clusters would be overconfident


def test_paired_difference_interval_covers_the_true_difference() -> None:
    # Case difficulty p ~ Beta(2, 2) shared by both models; B passes with min(p + 0.1, 1).
    rng = np.random.default_rng(20241104)
    n, lift = 60, 0.1
    difficulty = rng.beta(2.0, 2.0, (RUNS, n))
    a = (rng.random((RUNS, n)) < difficulty).astype(float)
    b = (rng.random((RUNS, n)) < np.minimum(difficulty + lift, 1.0)).astype(float)
    truth, _ = integrate.quad(lambda p: (min(p + lift, 1.0) - p) * scipy_stats.beta(2, 2).pdf(p), 0.0, 1.0)

    results = [compare(as_values(a[r]), as_values(b[r])) for r in range(RUNS)]

    assert BAND[0] <= coverage(results, truth) <= BAND[1]


def test_clustered_paired_difference_interval_covers_the_true_difference() -> None:
    # 30 documents of 4 cases; B's advantage varies by document (mean 0.05), so differences correlate.
    rng = np.random.default_rng(20241105)
    clusters, size = 30, 4
    lift = 0.05 + rng.normal(0.0, 0.15, (RUNS, clusters, 1))
    a = rng.beta(2.0, 2.0, (RUNS, clusters, size))
    b = a + lift + rng.normal(0.0, 0.1, (RUNS, clusters, size))
    a, b = a.reshape(RUNS, -1), b.reshape(RUNS, -1)  # b is not clipped: the true difference stays 0.05
    docs = {f"case-{i:03d}": f"doc-{i // size}" for i in range(clusters * size)}

    results = [compare(as_values(a[r]), as_values(b[r]), clusters=docs) for r in range(RUNS)]

    assert BAND[0] <= coverage(results, 0.05) <= BAND[1]


@pytest.mark.parametrize("confidence", [0.95])
def test_bootstrap_covers_bounded_skewed_means(confidence: float) -> None:
    # Scores ~ Beta(0.5, 4): in [0, 1], skewness about 2; true mean 1/9. Most samples are skewed
    # enough for the bootstrap; the rest fall back to the t interval, as in real use.
    rng = np.random.default_rng(20241106)
    data = rng.beta(0.5, 4.0, (RUNS, 40))

    intervals = summarize_all(data, confidence=confidence)

    methods = Counter(i.method for i in intervals)
    assert methods["bootstrap"] > 0.85 * RUNS
    assert BAND[0] <= coverage(intervals, 1 / 9) <= BAND[1]
    bootstrapped = [i for i in intervals if i.method == "bootstrap"]
    assert 0.925 <= coverage(bootstrapped, 1 / 9) <= 0.97
