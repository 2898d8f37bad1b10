"""compare: pairing, failures on a missing side, segments with Holm, power, and the JSON form."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evals.stats import cases_needed, compare, holm, min_detectable_difference

KEYS = ("n_pairs", "difference", "ci_low", "ci_high", "p_value", "mcnemar_p", "noninferiority_p",
        "min_detectable", "cases_needed", "margin", "method", "conservative", "fallback", "outcome",
        "n_discordant", "confidence")


def as_values(xs: list[float] | np.ndarray, prefix: str = "case") -> dict[str, list[float]]:
    return {f"{prefix}-{i:03d}": [float(x)] for i, x in enumerate(xs)}


def test_difference_is_b_minus_a() -> None:
    result = compare({"x": [0.2], "y": [0.4]}, {"x": [0.5], "y": [0.9]})

    assert result.difference == pytest.approx(0.4)
    assert result.n_pairs == 2


def test_a_case_missing_on_one_side_is_a_failure_for_that_side() -> None:
    # Given B never answered "c", and A never answered "d".
    a = {"a": [1.0], "b": [1.0], "c": [1.0]}
    b = {"a": [1.0], "b": [0.0], "d": [1.0]}

    result = compare(a, b)

    # then all four are pairs: d = (0, -1, -1, +1).
    assert result.n_pairs == 4
    assert result.difference == pytest.approx(-0.25)
    assert result.mcnemar_p == pytest.approx(stats.binomtest(1, 3).pvalue)


def test_a_case_with_an_empty_score_list_is_a_failure_too() -> None:
    result = compare({"a": [1.0], "b": [1.0]}, {"a": [1.0], "b": []})

    assert (result.n_pairs, result.difference) == (2, -0.5)


def test_repetitions_are_averaged_within_the_case_first() -> None:
    result = compare({"a": [1.0, 0.0, 0.0, 0.0], "b": [0.0]}, {"a": [1.0], "b": [0.0]})

    assert result.difference == pytest.approx(0.375)
    assert result.mcnemar_p is None  # 0.25 is not pass/fail


def test_mcnemar_only_for_pass_fail() -> None:
    continuous = compare(as_values([0.5, 0.2, 0.9]), as_values([0.6, 0.1, 0.8]))
    binary = compare(as_values([1, 0, 1]), as_values([1, 1, 1]))

    assert continuous.mcnemar_p is None
    assert binary.mcnemar_p == 1.0


def test_no_pairs_and_one_pair() -> None:
    nothing = compare({}, {})
    one = compare({"a": [0.2]}, {"a": [0.7]})

    assert (nothing.n_pairs, nothing.difference, nothing.p_value, nothing.segments) == (0, None, None, {})
    assert one.n_pairs == 1
    assert one.difference == pytest.approx(0.5)
    assert (one.ci_low, one.ci_high, one.p_value, one.min_detectable, one.cases_needed) == (None,) * 5


def test_identical_runs_tie_with_p_1_and_keep_an_honest_interval() -> None:
    a = as_values(np.random.default_rng(1).random(20))

    result = compare(a, a)

    # Identical answers show no difference, but 20 of them cannot prove equality: the interval is the
    # conservative one, not of zero width.
    assert (result.difference, result.p_value) == (0.0, 1.0)
    assert result.ci_low is not None and result.ci_high is not None
    assert result.ci_low < -0.05 and result.ci_high > 0.05
    assert (result.method, result.conservative, result.fallback) == ("betting", True, "no_spread")
    assert result.cases_needed is not None and result.cases_needed > 20


def test_identical_pass_fail_runs_get_a_tango_interval_and_a_noninferiority_p() -> None:
    a = as_values([1.0] * 450 + [0.0] * 50)

    result = compare(a, a, margin=0.05)

    assert result.method == "tango" and not result.conservative
    assert result.ci_low is not None and result.ci_high is not None
    assert -0.05 < result.ci_low < 0.0 < result.ci_high
    assert result.outcome == "non_inferior"
    assert result.noninferiority_p is not None and result.noninferiority_p < 0.025
    assert result.cases_needed is not None and result.cases_needed >= 2


def test_a_constant_nonzero_difference_has_no_t_test() -> None:
    result = compare(as_values([0.1, 0.2, 0.3]), as_values([0.2, 0.3, 0.4]))

    assert result.difference == pytest.approx(0.1)
    assert (result.p_value, result.noninferiority_p) == (None, None)


def test_noninferiority_is_one_sided_against_minus_margin() -> None:
    rng = np.random.default_rng(2)
    a = rng.random(200)
    b = np.clip(a + rng.normal(0.0, 0.1, 200), 0.0, 1.0)  # no real difference

    loose = compare(as_values(a), as_values(b), margin=0.05)
    strict = compare(as_values(a), as_values(b), margin=0.0)

    assert loose.noninferiority_p is not None and loose.noninferiority_p < 0.001
    assert strict.noninferiority_p is not None and strict.noninferiority_p > 0.05
    assert loose.margin == 0.05


def test_clusters_widen_the_interval_of_correlated_differences() -> None:
    rng = np.random.default_rng(3)
    shift = np.repeat(rng.normal(0.0, 0.3, 10), 6)  # the difference moves with the document
    a = rng.random(60) * 0.5
    b = np.clip(a + shift + rng.normal(0.0, 0.05, 60), 0.0, 1.0)
    clusters = {f"case-{i:03d}": f"doc-{i // 6}" for i in range(60)}

    naive = compare(as_values(a), as_values(b))
    clustered = compare(as_values(a), as_values(b), clusters=clusters)

    assert clustered.difference == naive.difference
    assert clustered.ci_high - clustered.ci_low > 2 * (naive.ci_high - naive.ci_low)  # type: ignore[operator]
    assert clustered.min_detectable > 2 * naive.min_detectable  # type: ignore[operator]


def test_power_uses_the_observed_paired_sd() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.random(80), rng.random(80)

    result = compare(as_values(a), as_values(b), margin=0.1, alpha=0.05, power=0.8)

    sd = float(np.std(b - a, ddof=1))
    assert result.min_detectable == pytest.approx(min_detectable_difference(sd, 80))
    assert result.cases_needed == cases_needed(sd, 0.1)


def test_cases_needed_is_the_smallest_size_whose_mde_reaches_the_margin() -> None:
    needed = cases_needed(0.35, 0.04)

    assert needed is not None
    enough, one_short = min_detectable_difference(0.35, needed), min_detectable_difference(0.35, needed - 1)
    assert enough is not None and one_short is not None
    assert enough <= 0.04 < one_short


def test_power_edge_cases() -> None:
    assert min_detectable_difference(0.3, 0) is None
    assert cases_needed(0.3, 0.0) is None
    assert cases_needed(0.0, 0.05) == 2
    with pytest.raises(ValueError):
        min_detectable_difference(-0.1, 10)
    with pytest.raises(ValueError, match="power"):
        cases_needed(0.3, 0.05, power=1.0)


def test_segments_are_compared_with_holm_adjusted_p_values() -> None:
    rng = np.random.default_rng(5)
    a = rng.random(90)
    b = np.clip(a + np.where(np.arange(90) < 30, 0.2, 0.0) + rng.normal(0.0, 0.1, 90), 0.0, 1.0)
    keys = list(as_values(a))
    tags = {key: [f"part:{i // 30}", "all"] for i, key in enumerate(keys)}
    tags["lonely"] = ["empty"]  # a tag without pairs

    result = compare(as_values(a), as_values(b), tags=tags)

    assert list(result.segments) == ["all", "empty", "part:0", "part:1", "part:2"]
    part0 = result.segments["part:0"]
    assert part0.n_pairs == 30 and part0.min_detectable is not None
    assert part0.p_value is not None and part0.p_value < 0.001  # the shifted part
    tested = ["all", "part:0", "part:1", "part:2"]
    expected = holm([result.segments[t].p_value for t in tested])  # type: ignore[misc]
    assert [result.segments[t].p_value_holm for t in tested] == pytest.approx(expected)
    assert result.segments["empty"].n_pairs == 0 and result.segments["empty"].p_value_holm is None
    assert result.p_value_holm is None


def test_segment_numbers_equal_a_comparison_of_the_segment_alone() -> None:
    rng = np.random.default_rng(6)
    a, b = rng.random(40), rng.random(40)
    keys = list(as_values(a))
    tags = {key: ["first"] for key in keys[:15]}

    segment = compare(as_values(a), as_values(b), tags=tags).to_dict()["segments"]["first"]
    alone = compare(
        {k: [float(a[i])] for i, k in enumerate(keys[:15])}, {k: [float(b[i])] for i, k in enumerate(keys[:15])}
    )

    expected = {key: value for key, value in alone.to_dict().items() if key != "segments"}
    assert segment == {**expected, "p_value_holm": alone.p_value}  # one segment: Holm is a no-op


def test_to_dict_has_the_documented_keys() -> None:
    result = compare(as_values([1, 0, 1, 1]), as_values([1, 1, 1, 0]), tags={"case-000": ["lang:fr"]})

    out = result.to_dict()

    assert out.keys() == {*KEYS, "segments"}
    assert out["segments"]["lang:fr"].keys() == {*KEYS, "p_value_holm"}
    assert out["n_pairs"] == 4 and out["difference"] == 0.0 and out["margin"] == 0.05


def test_negative_margin_is_refused() -> None:
    with pytest.raises(ValueError, match="margin"):
        compare({"a": [1.0]}, {"a": [0.0]}, margin=-0.05)


@pytest.mark.parametrize("lost", range(0, 12))
def test_the_noninferiority_p_agrees_with_the_widened_interval_when_the_candidate_wins_no_pair(lost: int) -> None:
    # Every discordant pair goes to production: the interval is widened to the exact bound, and the
    # p-value is then the larger of Tango's and the exact binomial test's, so the two never disagree.
    a = as_values([1.0] * 150 + [0.0] * 50)
    b = as_values([0.0] * lost + [1.0] * (150 - lost) + [0.0] * 50)

    result = compare(a, b, margin=0.05)

    assert result.ci_low is not None and result.noninferiority_p is not None
    assert (result.ci_low > -0.05) == (result.noninferiority_p < 0.025)
