"""Composite scorers: all_of, any_of, weighted."""

from __future__ import annotations

from typing import Any

import pytest

from evals.cases import Case
from evals.errors import UnknownScorer
from evals.results import Completion, Score
from evals.scoring import ScorerSpec
from evals.scoring.apply import score_completion

CONTAINS_PARIS = {"name": "contains", "options": {"value": "Paris"}}
CONTAINS_FRANCE = {"name": "contains", "options": {"value": "France"}}
NUMERIC = "numeric"  # unscorable on a case whose expected answer is not a number


async def score(name: str, answer: str, expected: str | None = "Paris", **options: Any) -> Score:
    case = Case(id="c1", input="Capital of France?", expected=expected)
    completion = Completion(case_id="c1", output=answer)
    return await score_completion(ScorerSpec(name, options).build(), case, completion, None)


@pytest.mark.parametrize(
    ("name", "answer", "value"),
    [
        ("all_of", "Paris is the capital of France", 1.0),
        ("all_of", "Paris", 0.0),
        ("any_of", "Paris", 1.0),
        ("any_of", "Lyon", 0.0),
    ],
)
async def test_all_of_and_any_of_count_passing_parts(name: str, answer: str, value: float) -> None:
    result = await score(name, answer, scorers=[CONTAINS_PARIS, CONTAINS_FRANCE])

    assert result.value == value
    assert [part["value"] for part in result.details["parts"]] == [
        float("Paris" in answer),
        float("France" in answer),
    ]
    assert result.details["parts"][0]["scorer"] == 'contains:{"value":"Paris"}'


async def test_threshold_decides_when_a_continuous_part_passes() -> None:
    # token F1 of "Paris France" against "Paris" is 2/3.
    lenient = await score("all_of", "Paris France", scorers=["token_f1"], threshold=0.6)
    strict = await score("all_of", "Paris France", scorers=["token_f1"], threshold=0.7)

    assert (lenient.value, strict.value) == (1.0, 0.0)


async def test_weighted_mean_renormalises_over_scorable_parts() -> None:
    both = await score("weighted", "Paris", scorers=[CONTAINS_PARIS, CONTAINS_FRANCE], weights=[3, 1])
    with_unscorable = await score(
        "weighted", "Paris", scorers=[CONTAINS_PARIS, NUMERIC, CONTAINS_FRANCE], weights=[3, 5, 1]
    )

    assert both.value == pytest.approx(0.75)
    assert with_unscorable.value == pytest.approx(0.75)  # the numeric part is left out, not counted as 0
    assert with_unscorable.details["parts"][1]["error"] == "expected answer 'Paris' is not a number"


async def test_unscorable_parts_are_excluded_and_all_unscorable_is_unscorable() -> None:
    some = await score("all_of", "Paris", scorers=[CONTAINS_PARIS, NUMERIC])
    none = await score("any_of", "Paris", scorers=[NUMERIC, "token_f1"], expected=None)

    assert some.value == 1.0
    assert none.value is None
    assert none.error is not None and none.error.startswith("no part could score (numeric: case has no expected answer")


async def test_composites_nest() -> None:
    inner = {"name": "any_of", "options": {"scorers": ["exact_match", CONTAINS_FRANCE]}}

    result = await score("all_of", "Paris", scorers=[CONTAINS_PARIS, inner])

    assert result.value == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('all_of:{"scorers": []}', "option 'scorers' must be a non-empty list"),
        ('all_of:{"scorers": ["nope"]}', "scorers\\[0\\]: unknown scorer 'nope'"),
        ('any_of:{"scorers": [{"name": "numeric", "options": {"tolerance": -1}}]}', "finite number >= 0"),
        ('all_of:{"scorers": [3]}', "scorers\\[0\\] must be a name or"),
        ('weighted:{"scorers": ["token_f1", "chrf"], "weights": [1]}', "list of 2 numbers"),
        ('weighted:{"scorers": ["token_f1"], "weights": [-1]}', "finite numbers >= 0"),
        ('weighted:{"scorers": ["token_f1"], "weights": [0]}', "must not all be 0"),
        ('all_of:{"scorers": ["token_f1"], "threshold": "high"}', "option 'threshold' must be a number"),
    ],
)
def test_bad_composites_are_refused_when_parsed(text: str, message: str) -> None:
    with pytest.raises(UnknownScorer, match=message):
        ScorerSpec.parse(text)
