"""The probe's MMD two-sample test: exact under "same distribution", powerful against a new one."""

from __future__ import annotations

import random

import numpy as np
import pytest

from evals.drift.mmd import ALPHA, ProbeSample, mmd_test, spectrum_features

PROMPTS = [f"prompt-{i:02d}" for i in range(20)]
PHRASINGS = ["{a}", "The answer is {a}.", "{a}, I think", "It is {a}; see the question again."]


def draw(rng: random.Random, weights: list[float], samples: int = 10,
         phrasings: list[str] = PHRASINGS) -> list[ProbeSample]:
    """*samples* answers per prompt, each a phrasing of the prompt's answer drawn with *weights*."""
    return [ProbeSample(prompt, rng.choices(phrasings, weights)[0].format(a=f"answer {i}"))
            for i, prompt in enumerate(PROMPTS) for _ in range(samples)]


def test_spectrum_rows_have_unit_norm_and_compare_like_cosines() -> None:
    features = spectrum_features(["the answer is 42", "the answer is 42", "zzzz", "ab", "ab", ""])
    gram = (features @ features.T).toarray()
    assert np.allclose(np.diag(gram), 1.0)
    assert gram[0, 1] == pytest.approx(1.0) and gram[0, 2] == 0.0
    # shorter than every order: the text itself is its one n-gram
    assert gram[3, 4] == pytest.approx(1.0) and gram[3, 5] == 0.0


def test_same_distribution_rejects_at_about_alpha() -> None:
    # Given 100 seeded repetitions of 20 prompts x 10 samples on each side, from one distribution
    p_values = []
    for rep in range(100):
        rng = random.Random(rep)
        weights = [0.4, 0.3, 0.2, 0.1]
        p_values.append(mmd_test(draw(rng, weights), draw(rng, weights), permutations=99, seed=rep).p_value)

    # Then the false alarms stay at the level (a binomial(200, alpha) count, three sd of slack) and the
    # p-values spread over [0, 1] rather than sitting at 1
    p = np.array(p_values)
    assert np.mean(p < 0.05) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 100)
    assert 0.10 <= np.mean(p < 0.25) <= 0.40
    assert 0.35 <= float(np.median(p)) <= 0.75


def test_a_new_distribution_gives_small_p_values() -> None:
    # Given the same prompts, where the current side now phrases its answers differently
    p_values = []
    for rep in range(10):
        rng = random.Random(1000 + rep)
        reference = draw(rng, [0.4, 0.3, 0.2, 0.1])
        current = draw(rng, [0.1, 0.2, 0.3, 0.4])
        p_values.append(mmd_test(current, reference, seed=rep).p_value)

    # Then the test rejects at the default level every time
    assert max(p_values) < ALPHA


def test_an_answer_never_seen_in_the_reference_is_caught_on_a_few_prompts() -> None:
    rng = random.Random(7)
    reference = draw(rng, [0.5, 0.5, 0, 0])
    current = draw(rng, [0.5, 0.5, 0, 0])
    # four prompts of twenty now answer in a new way (when only half of their answers are new, the test
    # at its default level mostly misses it, even against three reference runs: README, "Drift")
    changed = {f"prompt-{i:02d}" for i in range(4)}
    current = [ProbeSample(s.prompt, "Sure! " + s.text) if s.prompt in changed else s for s in current]

    assert mmd_test(current, reference, seed=0).p_value < ALPHA  # type: ignore[union-attr]


def test_the_outcome_depends_on_the_samples_not_their_order() -> None:
    rng = random.Random(3)
    current, reference = draw(rng, [0.4, 0.3, 0.2, 0.1]), draw(rng, [0.3, 0.3, 0.2, 0.2], samples=30)
    shuffled = current[:]
    random.Random(0).shuffle(shuffled)

    assert mmd_test(current, reference, seed=5) == mmd_test(shuffled, reference[::-1], seed=5)


def test_the_outcome_does_not_depend_on_how_many_permutations_are_scored_at_a_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from evals.drift import mmd

    rng = random.Random(5)
    current, reference = draw(rng, [0.4, 0.3, 0.2, 0.1]), draw(rng, [0.3, 0.3, 0.2, 0.2], samples=30)
    whole = mmd_test(current, reference, permutations=999, seed=2)
    monkeypatch.setattr(mmd, "ELEMENTS", 7 * (len(current) + len(reference)))  # 7 permutations at a time

    assert mmd_test(current, reference, permutations=999, seed=2) == whole


def test_identical_deterministic_answers_give_p_one_and_no_shared_prompt_gives_none() -> None:
    same = [ProbeSample(prompt, f"answer to {prompt}") for prompt in PROMPTS for _ in range(10)]
    result = mmd_test(same, same, permutations=99)
    assert result is not None and result.p_value == 1.0 and (result.n_current, result.n_prompts) == (200, 20)

    assert mmd_test(same, [ProbeSample("another prompt", "x")]) is None
    with pytest.raises(ValueError, match="permutations"):
        mmd_test(same, same, permutations=0)


def test_prompts_on_one_side_only_are_left_out() -> None:
    rng = random.Random(11)
    current = draw(rng, [0.4, 0.3, 0.2, 0.1]) + [ProbeSample("extra", "only here")]
    result = mmd_test(current, draw(rng, [0.4, 0.3, 0.2, 0.1]))
    assert result is not None and (result.n_current, result.n_reference, result.n_prompts) == (200, 200, 20)
