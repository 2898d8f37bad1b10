"""The bootstrap's resampling: seeded, and the same numbers whether its drawn indices are shared or not."""

from __future__ import annotations

import numpy as np
import pytest

from evals.pairing import ScoreTable, pair_runs
from evals.stats import Resampler, compare_pairs, summarize, summarize_segments
from evals.stats.bootstrap import bca_interval, bootstrap_means


def plain_means(x: np.ndarray, *, resamples: int, seed: int) -> np.ndarray:
    """The textbook draw: one matrix of indices from the seeded generator, one mean per row."""
    rng = np.random.default_rng(seed)
    return x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)


@pytest.mark.parametrize("n", [2, 7, 300, 4_001])
def test_bootstrap_means_are_the_plain_seeded_draw(n: int) -> None:
    x = np.random.default_rng(n).beta(0.5, 3.0, n)

    means = bootstrap_means(x, resamples=700, seed=3)

    assert np.array_equal(means, plain_means(x, resamples=700, seed=3))


def test_a_shared_resampler_gives_every_array_the_numbers_it_gets_alone() -> None:
    # Given two runs and their difference on the same 500 cases, resampled through one resampler.
    rng = np.random.default_rng(4)
    a, b = rng.beta(8.0, 1.0, 500), rng.beta(7.0, 1.5, 500)
    resampler = Resampler()

    shared = [bca_interval(x, confidence=0.95, resamples=2000, seed=0, resampler=resampler) for x in (a, b, b - a)]

    # Then each interval is the one it gets without sharing.
    assert shared == [bca_interval(x, confidence=0.95, resamples=2000, seed=0) for x in (a, b, b - a)]
    assert np.array_equal(resampler.means(b, resamples=2000, seed=0), plain_means(b, resamples=2000, seed=0))
    # And another seed or size is drawn afresh, not served from the shared indices.
    assert np.array_equal(resampler.means(a, resamples=2000, seed=1), plain_means(a, resamples=2000, seed=1))
    assert np.array_equal(resampler.means(a[:499], resamples=2000, seed=0),
                          plain_means(a[:499], resamples=2000, seed=0))


def test_beyond_its_budget_a_resampler_draws_again_with_the_same_numbers() -> None:
    x = np.random.default_rng(5).beta(0.5, 3.0, 1_000)
    small = Resampler(max_bytes=1_000)  # less than one matrix of indices

    assert np.array_equal(small.means(x, resamples=500, seed=2), plain_means(x, resamples=500, seed=2))
    with pytest.raises(ValueError, match="max_bytes"):
        Resampler(max_bytes=-1)


def test_the_analysis_numbers_do_not_depend_on_sharing() -> None:
    # Given a cycle of two runs with skewed continuous scores on 400 cases in two segments.
    rng = np.random.default_rng(6)
    keys = [f"c{i}" for i in range(400)]
    tags = {key: ["lang:fr" if i % 2 else "lang:en"] for i, key in enumerate(keys)}
    runs = [ScoreTable(values={k: [float(v)] for k, v in zip(keys, rng.beta(9 * q, 9 * (1 - q), 400), strict=True)},
                       tags=tags) for q in (0.9, 0.88)]
    resampler = Resampler()

    shared = ([summarize(run.values, resampler=resampler) for run in runs],
              [summarize_segments(run.values, tags=run.tags, resampler=resampler) for run in runs],
              compare_pairs(pair_runs(runs[0], runs[1]), margin=0.05, resampler=resampler))
    alone = ([summarize(run.values) for run in runs],
             [summarize_segments(run.values, tags=run.tags) for run in runs],
             compare_pairs(pair_runs(runs[0], runs[1]), margin=0.05))

    assert shared[0][0].method == "bootstrap" and shared[2].method == "bootstrap"
    assert shared == alone
