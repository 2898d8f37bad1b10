"""summarize / summarize_segments: which interval for which data, and the edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evals.stats import Interval, summarize, summarize_segments, wilson_interval


def as_values(xs: list[float] | np.ndarray) -> dict[str, list[float]]:
    return {f"case-{i:03d}": [float(x)] for i, x in enumerate(xs)}


def test_no_cases_gives_no_numbers() -> None:
    assert summarize({}) == Interval(mean=None, ci_low=None, ci_high=None, n=0, n_clusters=None, method="none")


def test_cases_without_scores_are_left_out() -> None:
    interval = summarize({"a": [], "b": [1.0], "c": [0.0]})

    assert (interval.n, interval.mean) == (2, 0.5)


def test_one_case_gives_a_mean_without_bounds() -> None:
    interval = summarize({"only": [0.7, 0.9]})

    assert interval.mean == pytest.approx(0.8)
    assert (interval.ci_low, interval.ci_high, interval.n, interval.method) == (None, None, 1, "none")


def test_repetitions_are_averaged_within_the_case_first() -> None:
    # Given one case with 3 repetitions and one with 1: a flat average would give 0.25.
    interval = summarize({"a": [1.0, 0.0, 0.0], "b": [0.0]})

    assert interval.mean == pytest.approx(1 / 6)
    assert interval.n == 2


def test_pass_fail_without_clusters_is_wilson() -> None:
    interval = summarize(as_values([1, 1, 0, 1, 0, 1, 1, 1]))

    assert interval.method == "wilson"
    assert (interval.ci_low, interval.ci_high) == pytest.approx(wilson_interval(6, 8))


def test_averaged_repetitions_that_stay_0_or_1_are_still_pass_fail() -> None:
    interval = summarize({"a": [1.0, 1.0], "b": [0.0, 0.0], "c": [1.0]})

    assert interval.method == "wilson"


def test_pass_fail_with_a_shared_cluster_is_clustered() -> None:
    values = as_values([1, 1, 0, 1, 0, 1, 1, 0, 0, 1])
    clusters = {key: f"doc-{i // 2}" for i, key in enumerate(values)}

    interval = summarize(values, clusters=clusters)

    assert (interval.method, interval.n_clusters, interval.n) == ("clustered", 5, 10)
    assert interval.ci_low is not None and interval.ci_high is not None


def test_distinct_clusters_are_not_clustering() -> None:
    values = as_values([1, 0, 1, 1])

    interval = summarize(values, clusters={key: key for key in values})

    assert interval.method == "wilson"
    assert interval.n_clusters is None


def test_a_single_cluster_has_no_interval() -> None:
    values = as_values([1, 0, 1, 1])

    interval = summarize(values, clusters=dict.fromkeys(values, "doc"))

    assert (interval.method, interval.n_clusters, interval.ci_low, interval.ci_high) == ("clustered", 1, None, None)
    assert interval.mean == 0.75


def test_clustered_scores_without_spread_have_a_zero_width_interval() -> None:
    values = as_values([1, 1, 1, 1])

    one_doc = summarize(values, clusters=dict.fromkeys(values, "doc"))
    two_docs = summarize(values, clusters={key: f"doc-{i % 2}" for i, key in enumerate(values)})

    assert (one_doc.ci_low, one_doc.ci_high, one_doc.n_clusters) == (None, None, 1)
    assert (two_docs.ci_low, two_docs.ci_high, two_docs.n_clusters) == (1.0, 1.0, 2)


def test_bounded_skewed_scores_are_bootstrapped() -> None:
    xs = np.random.default_rng(1).beta(0.4, 5.0, 50)

    interval = summarize(as_values(xs))

    assert interval.method == "bootstrap"
    assert 0.0 <= interval.ci_low < interval.mean < interval.ci_high <= 1.0  # type: ignore[operator]


def test_bootstrap_is_seeded() -> None:
    values = as_values(np.random.default_rng(2).beta(0.4, 5.0, 50))

    first, again, other = summarize(values), summarize(values), summarize(values, seed=1)

    assert first == again
    assert first.ci_low != other.ci_low


def test_bounded_symmetric_scores_get_a_t_interval_clipped_to_0_1() -> None:
    # Given a few scores near the top: the t interval would pass 1.
    interval = summarize(as_values([0.9, 1.0, 0.7, 0.95, 0.8]))

    assert interval.method == "t"
    assert interval.ci_high == 1.0
    assert interval.ci_low is not None and interval.ci_low < interval.mean  # type: ignore[operator]


def test_unbounded_scores_get_an_unclipped_t_interval() -> None:
    interval = summarize(as_values([3.0, 5.0, 4.0, 8.0]))

    assert interval.method == "t"
    assert interval.ci_low is not None and interval.ci_low < 3.0
    assert interval.ci_high is not None and interval.ci_high > 1.0


def test_confidence_widens_the_interval() -> None:
    values = as_values(np.random.default_rng(3).normal(0.0, 1.0, 30))

    narrow, wide = summarize(values, confidence=0.8), summarize(values, confidence=0.99)

    assert wide.ci_low < narrow.ci_low and wide.ci_high > narrow.ci_high  # type: ignore[operator]


def test_non_finite_scores_are_refused_with_the_case_named() -> None:
    with pytest.raises(ValueError, match="case 'b'"):
        summarize({"a": [1.0], "b": [math.nan]})


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95.0])
def test_confidence_must_be_a_probability(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        summarize({"a": [1.0], "b": [0.0]}, confidence=confidence)


@pytest.mark.parametrize(("successes", "n"), [(-1, 5), (6, 5), (0, 0)])
def test_wilson_refuses_impossible_counts(successes: int, n: int) -> None:
    with pytest.raises(ValueError):
        wilson_interval(successes, n)


def test_to_dict_has_the_documented_keys() -> None:
    assert summarize(as_values([1, 0, 1])).to_dict() == {
        "mean": pytest.approx(2 / 3),
        "ci_low": pytest.approx(wilson_interval(2, 3)[0]),
        "ci_high": pytest.approx(wilson_interval(2, 3)[1]),
        "n": 3,
        "n_clusters": None,
        "method": "wilson",
    }


def test_segments_summarize_the_cases_of_each_tag() -> None:
    values = {"a": [1.0], "b": [0.0], "c": [1.0], "d": [1.0]}
    tags = {"a": ["lang:fr"], "b": ["lang:fr", "doc:long"], "c": ["lang:en"], "d": ["doc:long"], "e": ["task:qa"]}

    segments = summarize_segments(values, tags=tags)

    assert list(segments) == ["doc:long", "lang:en", "lang:fr", "task:qa"]
    assert segments["lang:fr"] == summarize({"a": [1.0], "b": [0.0]})
    assert segments["doc:long"] == summarize({"b": [0.0], "d": [1.0]})
    assert segments["lang:en"].n == 1
    assert segments["task:qa"].n == 0  # tagged, but never scored


def test_segments_judge_clusters_within_the_segment() -> None:
    values = as_values([1, 0, 1, 1, 0, 1])
    keys = list(values)
    tags = {key: (["even"] if i % 2 == 0 else ["odd"]) for i, key in enumerate(keys)}
    # doc-x is shared only by odd cases.
    clusters = {keys[1]: "doc-x", keys[3]: "doc-x", keys[0]: "doc-y"}

    segments = summarize_segments(values, tags=tags, clusters=clusters)

    assert segments["odd"].method == "clustered"
    assert segments["even"].method == "wilson"
