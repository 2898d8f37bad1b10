"""Composite scorers: all_of, any_of and weighted, over parts that are scorer specs themselves.

Options: `scorers: [spec, ...]` (each a name or `{name, options}`, read with
`ScorerSpec.from_data`), `threshold` (a part passes when its value reaches it; all_of, any_of),
`weights` (weighted). Parts that could not score are left out; when every part is unscorable,
so is the composite. A composite with a part worth asking again (`Score.retryable`) is itself.
Every part's outcome is kept in the details under `parts`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from typing import Any

from evals.cases import Case
from evals.errors import UnknownScorer
from evals.results import Completion, Score
from evals.scoring.apply import score_completion
from evals.scoring.context import ScorerContext
from evals.scoring.registry import Scorer, ScorerSpec, scorer

DEFAULT_THRESHOLD = 0.5
"""A part passes at 0.5 or more: 0/1 scorers are unaffected, continuous ones pass at half marks."""

Combine = Callable[[list[tuple[int, float]]], tuple[float | None, str]]
"""(part index, value) of the scorable parts -> (composite value or None, explanation or reason)."""


def _parts(scorers: Any, context: ScorerContext | None) -> tuple[list[ScorerSpec], list[Scorer]]:
    if not isinstance(scorers, list) or not scorers:
        raise ValueError("option 'scorers' must be a non-empty list of scorer specs")
    specs = []
    for index, data in enumerate(scorers):
        if not isinstance(data, (str, dict)):
            raise TypeError(f"scorers[{index}] must be a name or a {{name, options}} mapping, got {data!r}")
        try:
            specs.append(ScorerSpec.from_data(data))
        except UnknownScorer as exc:
            raise ValueError(f"scorers[{index}]: {exc}") from None
    # A part that needs a context (a judge) raises NoContext here when there is none, which
    # the registry reads as "options valid" when validating and as an error when building.
    return specs, [spec.make(context) for spec in specs]


def _threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"option 'threshold' must be a number, got {value!r}")
    return float(value)


def _weights(value: Any, count: int) -> list[float]:
    if value is None:
        return [1.0] * count
    if not isinstance(value, list) or len(value) != count:
        raise ValueError(f"option 'weights' must be a list of {count} numbers, one per scorer")
    for weight in value:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"option 'weights' takes finite numbers >= 0, got {weight!r}")
    if sum(value) <= 0:
        raise ValueError("option 'weights' must not all be 0")
    return [float(weight) for weight in value]


def _composite(specs: Sequence[ScorerSpec], parts: Sequence[Scorer], combine: Combine) -> Scorer:
    async def score(case: Case, completion: Completion, production: Completion | None = None) -> Score:
        scores = await asyncio.gather(*(score_completion(part, case, completion, production) for part in parts))
        details = {
            "parts": [
                {"scorer": spec.key, "value": part.value, "error": part.error, "explanation": part.explanation}
                for spec, part in zip(specs, scores, strict=True)
            ]
        }
        scorable = [(index, part.value) for index, part in enumerate(scores) if part.value is not None]
        # A part whose judge call failed in passing makes the whole worth asking again.
        retryable = any(part.retryable for part in scores)
        if not scorable:
            reasons = "; ".join(f"{spec.key}: {part.error}" for spec, part in zip(specs, scores, strict=True))
            return Score(value=None, error=f"no part could score ({reasons})", details=details, retryable=retryable)
        value, explanation = combine(scorable)
        if value is None:
            return Score(value=None, error=explanation, details=details, retryable=retryable)
        return Score(value=value, explanation=explanation, details=details, retryable=retryable)

    return score


def _pass_counter(specs: Sequence[ScorerSpec], cutoff: float, need_all: bool) -> Combine:
    def combine(scorable: list[tuple[int, float]]) -> tuple[float | None, str]:
        failed = [specs[index].key for index, value in scorable if value < cutoff]
        passed = len(scorable) - len(failed)
        value = float(not failed) if need_all else float(passed > 0)
        explanation = f"{passed} of {len(scorable)} scorable parts reach {cutoff:g}"
        if failed:
            explanation += f"; below: {', '.join(failed)}"
        return value, explanation

    return combine


@scorer("all_of", version="1")
def all_of(*, scorers: list[Any], threshold: float = DEFAULT_THRESHOLD, context: ScorerContext | None = None) -> Scorer:
    """1.0 when every scorable part reaches `threshold`, else 0.0."""
    cutoff = _threshold(threshold)
    specs, parts = _parts(scorers, context)
    return _composite(specs, parts, _pass_counter(specs, cutoff, need_all=True))


@scorer("any_of", version="1")
def any_of(*, scorers: list[Any], threshold: float = DEFAULT_THRESHOLD, context: ScorerContext | None = None) -> Scorer:
    """1.0 when at least one scorable part reaches `threshold`, else 0.0."""
    cutoff = _threshold(threshold)
    specs, parts = _parts(scorers, context)
    return _composite(specs, parts, _pass_counter(specs, cutoff, need_all=False))


@scorer("weighted", version="1")
def weighted(*, scorers: list[Any], weights: list[float] | None = None, context: ScorerContext | None = None) -> Scorer:
    """Weighted mean of the scorable parts' values (weights renormalised over them)."""
    if not isinstance(scorers, list):
        raise ValueError("option 'scorers' must be a non-empty list of scorer specs")
    factors = _weights(weights, len(scorers))
    specs, parts = _parts(scorers, context)

    def combine(scorable: list[tuple[int, float]]) -> tuple[float | None, str]:
        total = sum(factors[index] for index, _ in scorable)
        if total == 0:
            return None, "every part that could score has weight 0"
        value = sum(factors[index] * part for index, part in scorable) / total
        return value, f"weighted mean of {len(scorable)} of {len(specs)} parts"

    return _composite(specs, parts, combine)
