"""Tango's and Newcombe's intervals for paired proportions: published values, a brute-force check, edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from evals.stats.proportions import newcombe_interval, tango_interval


def brute_force_tango(b: int, c: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Tango's interval without its closed form: the constrained MLE by numerical maximisation,
    the score statistic from it, and its crossings of +-z by a fine scan plus brentq."""

    def score(delta: float) -> float:
        # Maximise the profile likelihood over q = P(only A) with P(only B) = q + delta.
        low, high = max(0.0, -delta), (1.0 - delta) / 2.0
        concordant = n - b - c

        def minus_loglik(q: float) -> float:
            terms = [(b, q + delta), (c, q), (concordant, 1.0 - 2.0 * q - delta)]
            return -sum(k * math.log(p) for k, p in terms if k > 0)

        q = optimize.minimize_scalar(
            minus_loglik, bounds=(low + 1e-13, high - 1e-13), method="bounded", options={"xatol": 1e-14}
        ).x
        return (b - c - n * delta) / math.sqrt(n * (2.0 * q + delta * (1.0 - delta)))

    estimate = (b - c) / n
    grid = np.linspace(-1 + 1e-9, 1 - 1e-9, 801)
    values = np.array([score(float(d)) for d in grid])
    below, above = grid[grid < estimate], grid[grid > estimate]
    lower_side = values[grid < estimate] - z
    upper_side = values[grid > estimate] + z
    i = int(np.flatnonzero(lower_side > 0)[-1]) if np.any(lower_side > 0) else None
    j = int(np.flatnonzero(upper_side < 0)[0]) if np.any(upper_side < 0) else None
    low = -1.0 if i is None else optimize.brentq(lambda d: score(d) - z, below[i], below[i + 1], xtol=1e-12)
    high = 1.0 if j is None else optimize.brentq(lambda d: score(d) + z, above[j - 1], above[j], xtol=1e-12)
    return low, high


@pytest.mark.parametrize(("b", "c", "n"),
                         [(6, 16, 161), (1, 7, 21), (40, 20, 160), (3, 0, 30), (0, 0, 25), (12, 1, 400)])
def test_tango_matches_a_brute_force_inversion_of_the_score_test(b: int, c: int, n: int) -> None:
    expected = brute_force_tango(b, c, n)

    assert tango_interval(b, c, n) == pytest.approx(expected, abs=2e-6)


def test_newcombe_matches_published_values() -> None:
    # Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables" (2017), ch. 8:
    # complete response before/after consolidation therapy (Cavo et al. 2012), table [[59, 6], [16, 80]],
    # Newcombe square-and-add: -0.0621 (95 % CI -0.1186 to -0.0046).
    low, high = newcombe_interval(59, 6, 16, 80)

    assert (round(low, 4), round(high, 4)) == (-0.1186, -0.0046)


def test_tango_on_the_same_table_is_a_proper_interval_around_the_estimate() -> None:
    low, high = tango_interval(6, 16, 161)

    assert low < (6 - 16) / 161 < high < 0
    assert (round(low, 4), round(high, 4)) == (-0.1240, -0.0054)


def test_no_discordant_pair_gives_a_non_degenerate_interval() -> None:
    z = 1.959963984540054
    # Tango in closed form at b = c = 0: |delta| <= z^2 / (n + z^2).
    assert tango_interval(0, 0, 30) == pytest.approx((-z * z / (30 + z * z), z * z / (30 + z * z)), abs=1e-9)
    # Newcombe at a = d (where the two Wilson half-widths are equal) keeps a width too.
    low, high = newcombe_interval(15, 0, 0, 15)
    assert low < -0.01 and high > 0.01
    assert low == pytest.approx(-high)


def test_one_sided_extremes_reach_the_boundary() -> None:
    assert tango_interval(0, 30, 30)[0] == -1.0
    assert tango_interval(30, 0, 30)[1] == 1.0
    assert newcombe_interval(0, 0, 30, 0)[0] == pytest.approx(-1.0)


def test_swapping_the_sides_mirrors_the_interval() -> None:
    low, high = tango_interval(9, 2, 50)
    assert tango_interval(2, 9, 50) == pytest.approx((-high, -low))
    low, high = newcombe_interval(30, 9, 2, 9)
    assert newcombe_interval(30, 2, 9, 9) == pytest.approx((-high, -low))


@pytest.mark.parametrize(("b", "c", "n"), [(-1, 0, 10), (6, 6, 10), (0, 0, 0)])
def test_impossible_counts_are_refused(b: int, c: int, n: int) -> None:
    with pytest.raises(ValueError, match="b >= 0"):
        tango_interval(b, c, n)
