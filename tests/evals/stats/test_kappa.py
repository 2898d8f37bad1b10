"""Cohen's kappa with its large-sample interval: known values, statsmodels' figures, the edges."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa

from evals.stats.kappa import cohen_kappa, kappa_of_table


def test_kappa_of_the_textbook_two_by_two_table() -> None:
    # 50 items: both yes 20, first yes / second no 5, first no / second yes 10, both no 15:
    # p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    result = kappa_of_table(np.array([[20, 5], [10, 15]]))

    assert (result.observed, result.expected, result.kappa) == pytest.approx((0.7, 0.5, 0.4))
    assert result.n == 50


@pytest.mark.parametrize("table", [[[20, 5], [10, 15]], [[22, 2, 2], [3, 15, 1], [1, 2, 12]],
                                   [[40, 1, 0, 0], [2, 9, 1, 0], [0, 3, 7, 2], [1, 0, 0, 4]]])
def test_the_standard_error_and_interval_are_fleiss_cohen_and_everitts(table: list[list[int]]) -> None:
    expected = cohens_kappa(np.array(table))  # statsmodels: same kappa, non-null asymptotic SE

    result = kappa_of_table(np.array(table))

    assert result.kappa == pytest.approx(expected.kappa)
    assert result.se == pytest.approx(expected.std_kappa)
    assert (result.ci_low, result.ci_high) == pytest.approx((expected.kappa_low, expected.kappa_upp))


def test_kappa_from_two_lists_of_categories_matches_the_table() -> None:
    first = ["pass"] * 20 + ["pass"] * 5 + ["fail"] * 10 + ["fail"] * 15
    second = ["pass"] * 20 + ["fail"] * 5 + ["pass"] * 10 + ["fail"] * 15

    assert cohen_kappa(first, second).kappa == pytest.approx(0.4)


def test_perfect_agreement_is_one_with_no_spread_and_chance_agreement_is_not_percent_agreement() -> None:
    perfect = cohen_kappa([1, 2, 3, 1, 2], [1, 2, 3, 1, 2])
    assert (perfect.kappa, perfect.ci_low, perfect.ci_high) == pytest.approx((1.0, 1.0, 1.0))
    # a rater who says "pass" to everything agrees 90 % with one who passes 90 %, and kappa is 0
    chance = cohen_kappa(["pass"] * 9 + ["fail"], ["pass"] * 10)
    assert chance.observed == pytest.approx(0.9) and chance.kappa == pytest.approx(0.0)


def test_kappa_is_undefined_when_everything_is_one_category_and_empty_without_items() -> None:
    assert cohen_kappa(["a"] * 5, ["a"] * 5).kappa is None
    assert cohen_kappa([], []).n == 0 and cohen_kappa([], []).kappa is None
    with pytest.raises(ValueError, match="same items"):
        cohen_kappa([1, 2], [1])
