"""paired_interval: B - A, the method it picks, and the errors it raises."""

from __future__ import annotations

import numpy as np
import pytest

from evals.stats.difference import MIN_PAIRS, paired_interval
from evals.stats.proportions import newcombe_interval, tango_interval


def test_pass_fail_scores_get_tango_on_the_discordant_counts() -> None:
    a = np.array([1, 1, 0, 0, 1, 0] * 10, dtype=float)
    b = np.array([1, 0, 1, 0, 1, 1] * 10, dtype=float)  # only B: 20, only A: 10

    result = paired_interval(a, b)

    assert result is not None
    assert result.method == "tango" and not result.conservative
    assert result.difference == pytest.approx(10 / 60)
    assert (result.ci_low, result.ci_high) == pytest.approx(tango_interval(20, 10, 60))
    assert result.n_discordant == 30 and result.n_pairs == 60
    newcombe = paired_interval(a, b, binary_method="newcombe")
    assert newcombe is not None
    assert (newcombe.ci_low, newcombe.ci_high) == pytest.approx(newcombe_interval(20, 20, 10, 10))


def test_continuous_scores_get_the_bootstrap_from_enough_pairs_and_betting_below() -> None:
    rng = np.random.default_rng(3)
    a = rng.random(MIN_PAIRS)
    b = np.clip(a + rng.normal(0, 0.1, MIN_PAIRS), 0, 1)

    many, few = paired_interval(a, b, seed=1), paired_interval(a[:30], b[:30], seed=1)

    assert many is not None and (many.method, many.conservative) == ("bootstrap", False)
    assert few is not None and (few.method, few.conservative, few.fallback) == ("betting", True, "few_pairs")
    assert few.ci_low < few.difference < few.ci_high
    assert paired_interval(a, b, seed=1) == many  # seeded


def test_identical_continuous_scores_keep_a_width() -> None:
    a = np.linspace(0, 1, 200)

    result = paired_interval(a, a)

    assert result is not None and result.fallback == "no_spread"
    assert result.ci_low < 0 < result.ci_high


def test_clusters_given_as_labels_or_codes_agree() -> None:
    rng = np.random.default_rng(4)
    a, b = (rng.random(120) < 0.7).astype(float), (rng.random(120) < 0.75).astype(float)
    labels = [f"doc-{i // 4}" for i in range(120)]

    by_label = paired_interval(a, b, clusters=labels)
    by_code = paired_interval(a, b, clusters=np.arange(120) // 4)

    assert by_label is not None and by_label.method == "tango_clustered" and by_label.n_clusters == 30
    assert by_label == by_code
    unclustered = paired_interval(a, b, clusters=[None] * 120)
    assert unclustered is not None and unclustered.method == "tango" and unclustered.n_clusters is None


def test_unbounded_scores_fall_back_to_t_or_bootstrap() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(10, 2, 150), rng.normal(10.5, 2, 150)

    assert paired_interval(a[:30], b[:30]).method == "t"  # type: ignore[union-attr]
    assert paired_interval(a, b).method == "bootstrap"  # type: ignore[union-attr]


def test_no_pairs_is_none_and_bad_input_is_refused() -> None:
    assert paired_interval([], []) is None
    with pytest.raises(ValueError, match="1-D sequences"):
        paired_interval([1.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        paired_interval([1.0, float("nan")], [1.0, 0.0])
    with pytest.raises(ValueError, match="one cluster per pair"):
        paired_interval([1.0, 0.0], [1.0, 1.0], clusters=["x"])
    with pytest.raises(ValueError, match="confidence"):
        paired_interval([1.0], [1.0], confidence=95)
