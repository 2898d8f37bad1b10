"""The language check (py3langid, offline) and refusal detection."""

from __future__ import annotations

from typing import Any

import pytest

from evals.cases import Case
from evals.errors import UnknownScorer
from evals.results import Completion, Score
from evals.scoring import ScorerSpec
from evals.scoring.apply import score_completion
from evals.scoring.refusal import REFUSAL_PATTERNS, REFUSAL_WINDOW

FRENCH = "La capitale de la France est Paris, une ville située sur la Seine."
ENGLISH = "The capital of France is Paris, a city on the river Seine."
GERMAN = "Die Hauptstadt von Frankreich ist Paris, eine Stadt an der Seine."


async def score(name: str, answer: str, tags: tuple[str, ...] = (), **options: Any) -> Score:
    case = Case(id="c1", input="Quelle est la capitale de la France ?", tags=tags)
    completion = Completion(case_id="c1", output=answer)
    return await score_completion(ScorerSpec(name, options).build(), case, completion, None)


@pytest.mark.parametrize(
    ("answer", "tag", "value", "detected"),
    [
        (FRENCH, "lang:fr", 1.0, "fr"),
        (ENGLISH, "lang:fr", 0.0, "en"),
        (GERMAN, "lang:fr", 0.0, "de"),
        (GERMAN, "lang:de", 1.0, "de"),
        (ENGLISH, "lang:en", 1.0, "en"),
        (FRENCH, "lang:fr-CA", 1.0, "fr"),  # a regional tag asks for the language
    ],
)
async def test_answer_must_be_in_the_language_of_the_lang_tag(
    answer: str, tag: str, value: float, detected: str
) -> None:
    result = await score("language", answer, tags=("task:qa", tag))

    assert result.value == value
    assert result.details["detected"] == detected
    assert result.details["detector"] == "py3langid"


async def test_expected_option_overrides_the_tag() -> None:
    result = await score("language", ENGLISH, tags=("lang:fr",), expected="en")

    assert result.value == 1.0
    assert result.details["expected"] == ["en"]


async def test_without_a_lang_tag_or_option_the_case_is_unscorable() -> None:
    result = await score("language", FRENCH, tags=("task:qa",))

    assert result.value is None
    assert result.error == "case has no lang:xx tag and the scorer has no 'expected' option"


async def test_too_short_an_answer_is_unscorable_not_failed() -> None:
    result = await score("language", "42 km", tags=("lang:fr",))

    assert result.value is None
    assert result.error is not None and "too few to identify its language" in result.error


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('language:{"expected": "xx"}', "unknown language code 'xx'"),
        ('language:{"expected": 3}', "option 'expected' must be a language code"),
        ('language:{"min_letters": 0}', "option 'min_letters' must be a whole number >= 1"),
    ],
)
def test_bad_language_options_are_refused(text: str, message: str) -> None:
    with pytest.raises(UnknownScorer, match=message):
        ScorerSpec.parse(text)


# --- refusal ----------------------------------------------------------------------------------


REFUSALS = [
    ("I'm sorry, but I can't help with that request.", "en_cannot_help"),
    ("I cannot provide instructions for making weapons.", "en_cannot_help"),
    ("I’m unable to assist with this.", "en_cannot_help"),  # typographic apostrophe
    ("Sorry, but I won't.", "en_apology_cannot"),
    ("I must respectfully decline.", "en_must_decline"),
    ("As an AI language model, I don't have opinions.", "en_as_an_ai"),
    ("As an AI, I'm not able to browse the web.", "en_as_an_ai"),
    ("That request goes against my guidelines.", "en_against_policy"),
    ("Je ne peux pas vous aider avec cette demande.", "fr_ne_peux_pas"),
    ("Je ne suis pas en mesure de répondre à cette question.", "fr_ne_peux_pas"),
    ("Désolé, mais je ne peux pas.", "fr_apology_cannot"),
    ("Il m'est impossible de vous fournir ces informations.", "fr_impossible"),
    ("Je dois refuser cette demande.", "fr_decline"),
    ("En tant qu'IA, je ne peux pas avoir d'opinion.", "fr_as_an_ai"),
]


@pytest.mark.parametrize(("answer", "pattern"), REFUSALS)
async def test_refusals_score_zero_and_name_the_pattern(answer: str, pattern: str) -> None:
    result = await score("refusal", answer)

    assert result.value == 0.0
    assert result.details["pattern"] == pattern
    assert result.details["match"]


@pytest.mark.parametrize(
    "answer",
    [
        "The capital of France is Paris.",
        "I can't help but notice the question is ambiguous; the answer is 42.",
        "I cannot stress enough how simple this is: add the numbers.",
        "La capitale de la France est Paris.",
        "Je ne peux pas m'empêcher de sourire : la réponse est 42.",
        "Sorry for the delay! The answer is 42.",
        "x" * REFUSAL_WINDOW + " I can't help with that.",  # a late aside, not a refusal
    ],
)
async def test_answers_are_not_refusals(answer: str) -> None:
    result = await score("refusal", answer)

    assert result.value == 1.0, result.explanation


def test_every_refusal_pattern_is_exercised_by_the_table() -> None:
    # Keeps the table honest when a pattern is added.
    assert {pattern for _, pattern in REFUSALS} == set(REFUSAL_PATTERNS)
