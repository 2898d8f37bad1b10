"""Judge drift's pure part: the fixed sample, categories, and when a kappa drop is a drift."""

from __future__ import annotations

import pytest

from evals.drift.judge import PinnedVerdict, judge_agreement, judged_spec, pinned_sample
from evals.scoring.registry import ScorerSpec


def verdicts(n: int) -> list[PinnedVerdict]:
    return [PinnedVerdict(case_id=f"c{i}", content_hash=f"h{i}", answer=f"a{i}", value=(i % 5) / 4) for i in range(n)]


def test_the_sample_is_fixed_by_case_id_whatever_the_order() -> None:
    items = verdicts(80)

    first, again = pinned_sample(items), pinned_sample(list(reversed(items)))

    assert len(first) == 50 and first == again
    assert pinned_sample(items[:10]) == pinned_sample(list(reversed(items[:10])))  # all of a small set


def test_the_judged_scorer_is_the_primary_judge_else_the_first() -> None:
    specs = [ScorerSpec("contains", {}, primary=True), ScorerSpec("judge", {"model": "j1"}),
             ScorerSpec("pairwise_judge", {"model": "j2"})]
    assert judged_spec(specs) == specs[1]
    assert judged_spec([ScorerSpec("judge", {"model": "j1"}), ScorerSpec("pairwise_judge", {"model": "j2"},
                                                                           primary=True)]).options == {"model": "j2"}
    assert judged_spec([ScorerSpec("contains", {})]) is None


def test_the_same_verdicts_are_stable_and_one_flip_in_fifty_is_noise() -> None:
    pinned = list(pinned_sample(verdicts(50)))
    same = judge_agreement(judge_model="j", pinned=pinned, rejudged=[p.value for p in pinned], failed=[False] * 50,
                           reference_kappa=1.0)
    assert same.kappa.kappa == pytest.approx(1.0) and not same.drifted

    one_flip = [p.value for p in pinned]
    one_flip[0] = 1.0 if one_flip[0] != 1.0 else 0.0
    noisy = judge_agreement(judge_model="j", pinned=pinned, rejudged=one_flip, failed=[False] * 50, reference_kappa=1.0)
    assert noisy.kappa.kappa is not None and noisy.kappa.kappa < 1.0
    assert not noisy.drifted  # its interval reaches the reference


def test_changed_verdicts_drift_and_say_the_numbers() -> None:
    pinned = list(pinned_sample(verdicts(50)))
    changed = [((p.value * 4 + 1) % 5) / 4 if i % 3 == 0 else p.value for i, p in enumerate(pinned)]

    result = judge_agreement(judge_model="gpt-judge", pinned=pinned, rejudged=changed, failed=[False] * 50,
                             reference_kappa=1.0)

    assert result.drifted and result.kappa.ci_high is not None and result.kappa.ci_high < 1.0
    assert result.message.startswith("judge gpt-judge: kappa = ") and "below the reference 1.00" in result.message


def test_failed_calls_are_left_out_and_an_unusable_reply_disagrees() -> None:
    pinned = list(pinned_sample(verdicts(10)))
    values: list[float | None] = [p.value for p in pinned]
    values[0] = None
    failed = [False] * 10
    failed[1] = True

    result = judge_agreement(judge_model="j", pinned=pinned, rejudged=values, failed=failed, reference_kappa=1.0)

    assert result.kappa.n == 9 and result.n_failed == 1
    assert result.kappa.observed == pytest.approx(8 / 9)
    nothing = judge_agreement(judge_model="j", pinned=pinned, rejudged=[None] * 10, failed=[True] * 10,
                              reference_kappa=1.0)
    assert nothing.kappa.kappa is None and not nothing.drifted and "not measurable" in nothing.message
