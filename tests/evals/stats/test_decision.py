"""decide and cases_to_decide: the three outcomes, and the size floored at one discordant pair."""

from __future__ import annotations

import numpy as np
import pytest

from evals.stats.decision import Outcome, cases_to_decide, decide
from evals.stats.difference import PairedInterval, paired_interval
from evals.stats.power import cases_needed


def interval(low: float, high: float, *, n: int = 100, sd: float = 0.3) -> PairedInterval:
    return PairedInterval(
        difference=(low + high) / 2, ci_low=low, ci_high=high, n_pairs=n, n_discordant=10, n_clusters=None,
        method="tango", conservative=False, fallback=None, confidence=0.95, sd=sd,
    )


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (-0.04, 0.02, Outcome.NON_INFERIOR),  # could be at most 4 points worse: inside the margin
        (-0.05, 0.02, Outcome.UNDECIDED),  # the bound touches -margin: not shown
        (-0.12, 0.01, Outcome.UNDECIDED),  # straddles -margin
        (-0.12, -0.05, Outcome.INFERIOR),  # provably worse by at least the margin
        (-0.20, -0.08, Outcome.INFERIOR),
    ],
)
def test_the_three_outcomes(low: float, high: float, expected: Outcome) -> None:
    assert decide(interval(low, high), margin=0.05) is expected


def test_cases_to_decide_uses_the_interval_spread_and_level() -> None:
    result = interval(-0.1, 0.05, sd=0.42)

    assert cases_to_decide(result, margin=0.05) == cases_needed(0.42, 0.05, alpha=0.05, power=0.8)
    assert cases_to_decide(result, margin=0.05, power=0.9) > cases_to_decide(result, margin=0.05)


def test_identical_answers_never_need_zero_cases() -> None:
    # Given 40 pairs with identical pass/fail answers: no pair is discordant, sd is 0.
    scores = (np.arange(40) % 3 == 0).astype(float)
    result = paired_interval(scores, scores)
    assert result is not None and result.sd == 0.0 and result.n_discordant == 0

    needed = cases_to_decide(result, margin=0.05)

    # then the size is that of one discordant pair among the 40: sd^2 = (1/40)(39/40).
    assert needed == cases_needed(float(np.sqrt(39 / 1600)), 0.05, alpha=0.05, power=0.8)
    assert needed is not None and needed > 40
    assert decide(result, margin=0.05) is Outcome.UNDECIDED


def test_an_equal_candidate_with_enough_cases_is_shown_non_inferior() -> None:
    rng = np.random.default_rng(12)
    a, b = (rng.random(1000) < 0.9).astype(float), (rng.random(1000) < 0.9).astype(float)
    result = paired_interval(a, b)
    assert result is not None

    assert decide(result, margin=0.05) is Outcome.NON_INFERIOR
    needed = cases_to_decide(result, margin=0.05)
    assert needed is not None and 300 < needed < 1000  # about 18 % discordant pairs


def test_a_zero_margin_needs_no_finite_size_and_a_negative_one_is_refused() -> None:
    assert cases_to_decide(interval(-0.1, 0.1), margin=0.0) is None
    with pytest.raises(ValueError, match="margin"):
        decide(interval(-0.1, 0.1), margin=-0.05)
