"""Text-overlap scorers against the expected answer: token F1, chrF, BLEU, ROUGE-L, length ratio.

All values are in [0, 1]. A case without an expected answer is unscorable; a completion without
an answer scores 0.0 (see `evals.scoring.apply.no_answer`).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import sacrebleu

from evals.cases import Case
from evals.results import Completion, Score
from evals.scoring.apply import no_answer
from evals.scoring.registry import Scorer, scorer
from evals.scoring.text import normalize_unicode

NO_EXPECTED = "case has no expected answer"
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_WORD = re.compile(r"\w+")

Compare = Callable[[str, str], Score]
"""Judge an answer against a non-blank expected answer."""


def _against_expected(compare: Compare) -> Scorer:
    """Make *compare* a Scorer: no answer scores 0.0, no expected answer is unscorable."""

    async def score(case: Case, completion: Completion, production: Completion | None = None) -> Score:
        if completion.output is None or not completion.ok:
            return no_answer(completion)
        expected = case.expected
        if expected is None or not expected.strip():
            return Score.unscorable(NO_EXPECTED)
        return compare(completion.output, expected)

    return score


def squad_tokens(text: str) -> list[str]:
    """SQuAD's answer normalisation, as tokens: lower case, no punctuation, no articles."""
    text = normalize_unicode(text).lower().translate(_PUNCTUATION)
    return _ARTICLES.sub(" ", text).split()


def f1_of(overlap: float, got: int, want: int) -> float:
    """The harmonic mean of precision overlap/got and recall overlap/want (0 when no overlap)."""
    if overlap == 0:
        return 0.0
    precision, recall = overlap / got, overlap / want
    return 2 * precision * recall / (precision + recall)


def token_f1_of(answer: str, expected: str) -> float:
    """SQuAD token F1 between two texts (1.0 when both normalise to nothing)."""
    got, want = squad_tokens(answer), squad_tokens(expected)
    if not got or not want:
        return float(got == want)
    common = sum((Counter(got) & Counter(want)).values())
    return f1_of(common, len(got), len(want))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (O(len(a)·len(b)) time)."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if token == other else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l_of(answer: str, expected: str) -> float:
    """ROUGE-L F-measure over lower-cased word tokens (1.0 when both have no words)."""
    got, want = _WORD.findall(answer.lower()), _WORD.findall(expected.lower())
    if not got or not want:
        return float(got == want)
    return f1_of(lcs_length(got, want), len(got), len(want))


@scorer("token_f1", version="1")
def token_f1() -> Scorer:
    """SQuAD-style token F1 of the answer against the expected answer."""

    def compare(answer: str, expected: str) -> Score:
        return Score(value=token_f1_of(answer, expected))

    return _against_expected(compare)


@scorer("rouge_l", version="1")
def rouge_l() -> Scorer:
    """ROUGE-L F-measure (longest common word subsequence) against the expected answer."""

    def compare(answer: str, expected: str) -> Score:
        return Score(value=rouge_l_of(answer, expected))

    return _against_expected(compare)


@scorer("chrf", version="1")
def chrf() -> Scorer:
    """Sentence-level chrF (sacrebleu defaults), scaled to [0, 1]."""

    def compare(answer: str, expected: str) -> Score:
        result = sacrebleu.sentence_chrf(answer, [expected])
        return Score(value=float(result.score) / 100, details={"signature": "chrF2 (sacrebleu sentence)"})

    return _against_expected(compare)


@scorer("bleu", version="1")
def bleu() -> Scorer:
    """Sentence-level BLEU (sacrebleu, exponential smoothing), scaled to [0, 1]."""

    def compare(answer: str, expected: str) -> Score:
        result = sacrebleu.sentence_bleu(answer, [expected])
        return Score(value=float(result.score) / 100, details={"signature": "BLEU (sacrebleu sentence, smooth exp)"})

    return _against_expected(compare)


def _max_ratio(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"option 'max_ratio' must be a number, got {value!r}")
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"option 'max_ratio' must be a finite number >= 1, got {value!r}")
    return float(value)


@scorer("length_ratio", version="1")
def length_ratio(*, max_ratio: float = 2.0) -> Scorer:
    """1.0 when the answer's length is within [1/max_ratio, max_ratio] of the expected answer's.

    Lengths are in characters after trimming (works for every script). Outside the band the value
    decays in proportion: an answer 4x the expected length with max_ratio 2 scores 0.5.
    """
    limit = _max_ratio(max_ratio)

    def compare(answer: str, expected: str) -> Score:
        ratio = len(answer.strip()) / len(expected.strip())
        details = {"ratio": round(ratio, 4), "max_ratio": limit}
        explanation = f"answer is {ratio:.2f}x the expected length"
        if ratio > limit:
            return Score(value=limit / ratio, explanation=explanation, details=details)
        if ratio * limit < 1:
            return Score(value=ratio * limit, explanation=explanation, details=details)
        return Score(value=1.0, explanation=explanation + f", within {limit:g}x", details=details)

    return _against_expected(compare)
