"""Text-overlap scorers: token F1, chrF, BLEU, ROUGE-L and the length ratio."""

from __future__ import annotations

from typing import Any

import pytest
import sacrebleu

from evals.cases import Case
from evals.errors import UnknownScorer
from evals.results import Completion, Score
from evals.scoring import ScorerSpec
from evals.scoring.apply import score_completion
from evals.scoring.overlap import lcs_length


async def score(name: str, expected: str | None, answer: str | None, **options: Any) -> Score:
    case = Case(id="c1", input="question?", expected=expected)
    completion = Completion(case_id="c1", output=answer, error=None if answer is not None else "HTTP 500: boom")
    return await score_completion(ScorerSpec(name, options).build(), case, completion, None)


@pytest.mark.parametrize(
    ("expected", "answer", "value"),
    [
        ("Paris", "paris.", 1.0),  # case and punctuation do not count
        ("the Eiffel Tower", "Eiffel tower", 1.0),  # nor do articles
        ("a cat sat down", "The cat sat", 0.8),  # P = 2/2, R = 2/3
        ("blue whale", "red fox", 0.0),
        ("two two three", "two three three", 2 / 3),  # overlap counts multiplicity: 2 of 3 each way
    ],
)
async def test_token_f1_uses_squad_normalisation(expected: str, answer: str, value: float) -> None:
    result = await score("token_f1", expected, answer)

    assert result.value == pytest.approx(value)


@pytest.mark.parametrize(
    ("expected", "answer", "value"),
    [
        ("the cat sat on the mat", "the cat sat on the mat", 1.0),
        ("the cat sat on the mat", "the cat was on the mat", 5 / 6),  # LCS "the cat on the mat"
        ("police killed the gunman", "the gunman killed police", 0.5),  # LCS of 2 in 4 and 4
        ("a b c d", "x y", 0.0),
    ],
)
async def test_rouge_l_is_the_lcs_f_measure(expected: str, answer: str, value: float) -> None:
    result = await score("rouge_l", expected, answer)

    assert result.value == pytest.approx(value)


def test_lcs_length_is_symmetric_and_exact() -> None:
    assert lcs_length("ABCBDAB", "BDCABA") == 4  # the textbook example (BCBA)
    assert lcs_length("BDCABA", "ABCBDAB") == 4
    assert lcs_length("", "abc") == 0


@pytest.mark.parametrize("name", ["chrf", "bleu"])
async def test_sacrebleu_scores_are_scaled_to_unit_interval(name: str) -> None:
    expected = "The quick brown fox jumps over the lazy dog."
    close = "The quick brown fox jumped over the lazy dog."

    same = await score(name, expected, expected)
    near = await score(name, expected, close)
    far = await score(name, expected, "Completely unrelated words here.")

    assert same.value == pytest.approx(1.0)
    assert far.value is not None and near.value is not None
    assert 0.0 <= far.value < near.value < 1.0
    reference = sacrebleu.sentence_chrf if name == "chrf" else sacrebleu.sentence_bleu
    assert near.value == pytest.approx(reference(close, [expected]).score / 100)


@pytest.mark.parametrize(
    ("answer", "value", "ratio"),
    [
        ("x" * 10, 1.0, 1.0),
        ("x" * 20, 1.0, 2.0),  # on the upper edge of the band
        ("x" * 5, 1.0, 0.5),  # on the lower edge
        ("x" * 40, 0.5, 4.0),  # twice past the band: half marks
        ("x" * 2, 0.4, 0.2),
        ("  " + "x" * 10 + "\n", 1.0, 1.0),  # surrounding whitespace is not length
    ],
)
async def test_length_ratio_is_one_inside_the_band_and_decays_outside(answer: str, value: float, ratio: float) -> None:
    result = await score("length_ratio", "y" * 10, answer)

    assert result.value == pytest.approx(value)
    assert result.details["ratio"] == pytest.approx(ratio)


async def test_length_ratio_band_follows_max_ratio() -> None:
    result = await score("length_ratio", "y" * 10, "x" * 30, max_ratio=3)

    assert result.value == 1.0


@pytest.mark.parametrize("name", ["token_f1", "rouge_l", "chrf", "bleu", "length_ratio"])
async def test_overlap_needs_an_expected_answer_and_an_answer(name: str) -> None:
    missing = await score(name, None, "anything")
    blank = await score(name, "   ", "anything")
    failed = await score(name, "Paris", None)

    assert missing.value is None and missing.error == "case has no expected answer"
    assert blank.value is None
    assert failed.value == 0.0 and failed.explanation == "no answer: HTTP 500: boom"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('length_ratio:{"max_ratio": 0.5}', "option 'max_ratio' must be a finite number >= 1"),
        ('length_ratio:{"max_ratio": "2"}', "option 'max_ratio' must be a number"),
        ('token_f1:{"strict": true}', "bad options for scorer 'token_f1'"),
    ],
)
def test_bad_overlap_options_are_refused(text: str, message: str) -> None:
    with pytest.raises(UnknownScorer, match=message):
        ScorerSpec.parse(text)
