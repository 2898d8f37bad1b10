"""Properties of the statistics that hold for any data (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evals.stats import compare, holm, summarize, wilson_interval

KEYS = st.text(alphabet="abcdefghij", min_size=1, max_size=3)
UNIT = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
SCORE = st.one_of(st.sampled_from([0.0, 1.0]), UNIT)
RUN = st.dictionaries(KEYS, st.lists(SCORE, min_size=1, max_size=3), max_size=25)
PASS_FAIL_RUN = st.dictionaries(KEYS, st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=1), max_size=25)
CLUSTERS = st.one_of(st.none(), st.dictionaries(KEYS, st.one_of(st.none(), st.sampled_from(["d1", "d2", "d3"]))))


def reorder(mapping: dict[str, Any], order: list[int]) -> dict[str, Any]:
    items = list(mapping.items())
    return dict(items[i] for i in order)


@given(st.integers(min_value=1, max_value=500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.floats(min_value=0.5, max_value=0.999))
def test_wilson_lies_in_0_1_and_contains_the_proportion(counts: tuple[int, int], confidence: float) -> None:
    successes, n = counts

    low, high = wilson_interval(successes, n, confidence)

    assert 0.0 <= low <= successes / n <= high <= 1.0


@given(RUN | PASS_FAIL_RUN, CLUSTERS)
@settings(max_examples=150, deadline=None)
def test_interval_contains_the_mean_and_stays_in_0_1(values: dict[str, list[float]], clusters: Any) -> None:
    interval = summarize(values, clusters=clusters, resamples=200)

    if interval.ci_low is not None:
        assert interval.mean is not None and interval.ci_high is not None
        assert 0.0 <= interval.ci_low <= interval.mean <= interval.ci_high <= 1.0
    assert interval.n == sum(1 for reps in values.values() if reps)


@given(RUN, CLUSTERS)
@settings(max_examples=100, deadline=None)
def test_a_run_compared_with_itself_shows_no_difference(a: dict[str, list[float]], clusters: Any) -> None:
    result = compare(a, a, clusters=clusters)

    assert result.n_pairs == len(a)
    if a:
        assert result.difference == 0.0
    assert result.p_value in (1.0, None)
    if result.mcnemar_p is not None:
        assert result.mcnemar_p == 1.0


@given(RUN, RUN, CLUSTERS)
@settings(max_examples=100, deadline=None)
def test_swapping_the_runs_negates_the_difference_and_mirrors_the_interval(
    a: dict[str, list[float]], b: dict[str, list[float]], clusters: Any
) -> None:
    forward, backward = compare(a, b, clusters=clusters), compare(b, a, clusters=clusters)

    assert forward.n_pairs == backward.n_pairs
    if forward.difference is not None:
        assert backward.difference == pytest.approx(-forward.difference, abs=1e-12)
    if forward.ci_low is not None:
        assert backward.ci_low == pytest.approx(-forward.ci_high, abs=1e-12)  # type: ignore[operator]
        assert backward.ci_high == pytest.approx(-forward.ci_low, abs=1e-12)
        assert forward.ci_low <= forward.difference <= forward.ci_high  # type: ignore[operator]
    assert backward.p_value == pytest.approx(forward.p_value)
    assert backward.mcnemar_p == pytest.approx(forward.mcnemar_p)


@given(RUN, RUN, CLUSTERS, st.data())
@settings(max_examples=100, deadline=None)
def test_results_do_not_depend_on_key_order(
    a: dict[str, list[float]], b: dict[str, list[float]], clusters: Any, data: st.DataObject
) -> None:
    order_a = data.draw(st.permutations(range(len(a))))
    order_b = data.draw(st.permutations(range(len(b))))
    tags = {key: ["even" if len(key) % 2 == 0 else "odd"] for key in a}

    shuffled_a, shuffled_b = reorder(a, order_a), reorder(b, order_b)

    assert summarize(shuffled_a, clusters=clusters, resamples=200) == summarize(a, clusters=clusters, resamples=200)
    assert compare(shuffled_a, shuffled_b, clusters=clusters, tags=tags).to_dict() == (
        compare(a, b, clusters=clusters, tags=tags).to_dict()
    )


@given(st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=20))
def test_holm_never_lowers_a_p_value_and_keeps_their_order(p_values: list[float]) -> None:
    adjusted = holm(p_values)

    assert all(p <= q <= 1.0 for p, q in zip(p_values, adjusted, strict=True))
    ranked = sorted(range(len(p_values)), key=lambda i: p_values[i])
    assert [adjusted[i] for i in ranked] == sorted(adjusted)
