"""Built-in scorers and score_completion (the registry and specs: test_scorer_registry.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evals.cases import Case
from evals.results import Completion, Score
from evals.scoring import ScorerSpec
from evals.scoring.apply import score_completion
from evals.scoring.text import find_numbers, last_number

BUILTINS = {"exact_match", "contains", "regex", "json_valid", "json_schema", "numeric", "asserts"}


def make_case(expected: str | None = None, **fields: Any) -> Case:
    return Case(id="c1", input="question?", expected=expected, **fields)


async def score(name: str, options: dict[str, Any], case: Case, output: str | None) -> Score:
    scorer = ScorerSpec(name, options).build()
    return await score_completion(scorer, case, Completion(case_id=case.id, output=output), None)


# --- exact_match ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected", "output", "value"),
    [
        ({}, "Paris", "Paris", 1.0),
        ({}, "Paris", "  Paris\n", 1.0),  # strip is on by default
        ({"strip": False}, "Paris", "Paris\n", 0.0),
        ({}, "Paris", "paris", 0.0),
        ({"ignore_case": True}, "Paris", "PARIS", 1.0),
        ({"ignore_case": True}, "Straße", "STRASSE", 1.0),  # casefold, not lower
        ({}, "New York", "New  York", 0.0),
        ({"collapse_whitespace": True}, "New York", "New \n\t York", 1.0),
        ({}, "Paris", "Paris.", 0.0),
        ({"remove_punctuation": True}, "Paris", "Paris.", 1.0),
        ({"remove_punctuation": True}, "l'été", "« lété »", 1.0),
        ({}, "café", "cafe\u0301", 1.0),  # NFC: composed and decomposed é are equal
        ({"normalize_unicode": False}, "café", "cafe\u0301", 0.0),
        ({}, "10 000 €", "10\u202f000\u00a0€", 1.0),  # French no-break spaces
        ({}, "x2", "x²", 0.0),  # NFC, not NFKC: a superscript is not a digit
        ({}, "ok", "o\u200bk", 1.0),  # zero-width space dropped
    ],
)
async def test_exact_match(options: dict[str, Any], expected: str, output: str, value: float) -> None:
    result = await score("exact_match", options, make_case(expected), output)

    assert result.value == value, result.explanation


@pytest.mark.parametrize("expected", [None, "", "   "])
async def test_exact_match_without_expected_answer_is_unscorable(expected: str | None) -> None:
    result = await score("exact_match", {}, make_case(expected), "Paris")

    assert result.value is None
    assert result.error == "case has no expected answer"


# --- contains -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected", "output", "value"),
    [
        ({}, "Paris", "The capital is paris.", 1.0),  # ignore_case defaults to True
        ({"ignore_case": False}, "Paris", "The capital is paris.", 0.0),
        ({}, "Lyon", "The capital is Paris.", 0.0),
        ({"value": "capital"}, None, "The capital is Paris.", 1.0),  # option wins, no expected needed
        ({"value": "Lyon"}, "Paris", "The capital is Paris.", 0.0),
        ({}, "10 000", "Il y a 10\u202f000 habitants", 1.0),
    ],
)
async def test_contains(options: dict[str, Any], expected: str | None, output: str, value: float) -> None:
    result = await score("contains", options, make_case(expected), output)

    assert result.value == value, result.explanation


async def test_contains_without_expected_or_value_is_unscorable() -> None:
    result = await score("contains", {}, make_case(None), "anything")

    assert result.value is None
    assert result.error is not None and result.error.startswith("case has no expected answer")


# --- regex ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected", "output", "value"),
    [
        ({"pattern": r"\bParis\b"}, None, "It is Paris.", 1.0),
        ({"pattern": r"\bParis\b"}, None, "It is Parisian.", 0.0),
        ({"pattern": "paris"}, None, "PARIS", 0.0),
        ({"pattern": "paris", "flags": "i"}, None, "PARIS", 1.0),
        ({"pattern": "^b$"}, None, "a\nb\nc", 0.0),
        ({"pattern": "^b$", "flags": "m"}, None, "a\nb\nc", 1.0),
        ({"pattern": "a.c"}, None, "a\nc", 0.0),
        ({"pattern": "a.c", "flags": "s"}, None, "a\nc", 1.0),
        ({}, r"\d{4}-\d{2}", "born 1969-07", 1.0),  # the expected answer is the pattern
        ({}, r"\d{4}-\d{2}", "born in July", 0.0),
    ],
)
async def test_regex(options: dict[str, Any], expected: str | None, output: str, value: float) -> None:
    result = await score("regex", options, make_case(expected), output)

    assert result.value == value, result.explanation


async def test_regex_reports_the_match() -> None:
    result = await score("regex", {"pattern": r"\d+"}, make_case(), "answer: 42")

    assert result.details == {"match": "42"}


@pytest.mark.parametrize(
    ("expected", "error"), [(None, "case has no expected answer"), ("(", "not a valid regex")]
)
async def test_regex_from_an_unusable_expected_answer_is_unscorable(
    expected: str | None, error: str
) -> None:
    result = await score("regex", {}, make_case(expected), "anything")

    assert result.value is None
    assert result.error is not None and error in result.error


# --- json_valid / json_schema ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "value", "source"),
    [
        ('{"a": 1}', 1.0, "answer"),
        ('  [1, 2]\n', 1.0, "answer"),
        ('Here it is:\n```json\n{"a": 1}\n```\nDone.', 1.0, "fenced block"),
        ('```\n{"a": 1}\n```', 1.0, "fenced block"),
        ('```json\n{"a": 1,}\n```\n```json\n{"b": 2}\n```', 1.0, "fenced block"),  # first that parses
        ('```python\n{"a": 1}\n```', 0.0, None),
        ('The object is {"a": 1}', 0.0, None),  # prose around unfenced JSON is not JSON
        ('{"a": NaN}', 0.0, None),  # Python's extensions are not JSON
        ("{'a': 1}", 0.0, None),
    ],
)
async def test_json_valid(output: str, value: float, source: str | None) -> None:
    result = await score("json_valid", {}, make_case(), output)

    assert result.value == value, result.explanation
    assert result.details.get("source") == source


SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["name"],
}


@pytest.mark.parametrize(
    ("output", "value", "explanation"),
    [
        ('{"name": "x", "tags": ["a"]}', 1.0, "JSON matches the schema"),
        ('```json\n{"name": "x"}\n```', 1.0, "JSON matches the schema"),
        ('{"name": "x", "tags": ["a", 2]}', 0.0, "at $.tags[1]: 2 is not of type 'string'"),
        ('{"tags": []}', 0.0, "at $: 'name' is a required property"),
        ("not json", 0.0, "answer is not JSON"),
    ],
)
async def test_json_schema(output: str, value: float, explanation: str) -> None:
    result = await score("json_schema", {"schema": SCHEMA}, make_case(), output)

    assert result.value == value
    assert result.explanation is not None and explanation in result.explanation


async def test_json_schema_details_list_the_violations() -> None:
    result = await score("json_schema", {"schema": SCHEMA}, make_case(), '{"name": 1, "tags": [2]}')

    assert result.details["error_count"] == 2
    assert {error["path"] for error in result.details["errors"]} == {"$.name", "$.tags[0]"}


# --- numeric --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected", "output", "value"),
    [
        ({}, "42", "The answer is 42.", 1.0),
        ({}, "42", "First 7, then 40, so 42", 1.0),  # the last number counts
        ({}, "42", "42, or maybe 43", 0.0),
        ({}, "-3.5", "It is -3.5", 1.0),
        ({}, "-3.5", "It is \u22123.5", 1.0),  # Unicode minus sign
        ({}, "1234.5", "Total: $1,234.50", 1.0),
        ({}, "1234567", "1,234,567 people", 1.0),
        ({}, "10000", "10\u202f000 habitants", 1.0),
        ({}, "0.001", "about 1e-3", 1.0),
        ({}, "15000000000", "1.5E+10", 1.0),
        ({}, "0.5", "roughly .5", 1.0),
        ({}, "19", "COVID-19", 1.0),  # a hyphen glued to a word is not a sign
        ({}, "Step 1: 3 * 24 = 72 apples.\n#### 72", "72", 1.0),  # worked solution: its last number
        ({}, "100", "100.0", 1.0),
        ({}, "1.1", "1.10000001", 0.0),  # tolerance 0 is exact
        ({"tolerance": 0.1}, "1.0", "1.1", 1.0),  # inclusive, and exact (no float rounding)
        ({"tolerance": 0.1}, "1.0", "1.11", 0.0),
        ({"tolerance": 0.05, "relative": True}, "200", "209", 1.0),
        ({"tolerance": 0.05, "relative": True}, "200", "211", 0.0),
        ({"tolerance": 0.05, "relative": True}, "0", "0.001", 0.0),
        ({}, "7", "seven", 0.0),
    ],
)
async def test_numeric(options: dict[str, Any], expected: str, output: str, value: float) -> None:
    result = await score("numeric", options, make_case(expected), output)

    assert result.value == value, result.explanation


async def test_numeric_without_a_number_in_the_answer_fails_with_a_reason() -> None:
    result = await score("numeric", {}, make_case("7"), "seven")

    assert result.value == 0.0
    assert result.explanation == "no number in the answer"


@pytest.mark.parametrize(
    ("expected", "error"), [(None, "case has no expected answer"), ("Paris", "is not a number")]
)
async def test_numeric_without_a_numeric_expected_answer_is_unscorable(
    expected: str | None, error: str
) -> None:
    result = await score("numeric", {}, make_case(expected), "42")

    assert result.value is None
    assert result.error is not None and error in result.error


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("H2O and x2 are words", []),
        ("1,2,3", ["1", "2", "3"]),
        ("v1.2.3", []),
        ("5-3=2", ["5", "3", "2"]),
        ("-.5e2 and +7", ["-.5e2", "+7"]),
        ("1e99999999999999999999 then 4", ["4"]),  # an exponent beyond arithmetic is skipped
    ],
)
def test_find_numbers(text: str, numbers: list[str]) -> None:
    assert [number.text for number in find_numbers(text)] == numbers


@given(st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**12), max_value=10**12))
def test_last_number_reads_back_a_formatted_number(number: Decimal) -> None:
    found = last_number(f"So the result is {number:,}.")

    assert found is not None and found.value == number


# --- asserts (the engine has its own tests) -------------------------------------------------


async def test_asserts_scorer_applies_the_case_asserts() -> None:
    checks = ({"type": "icontains", "value": "paris"}, {"type": "not-contains", "value": "Lyon"})
    case = make_case(asserts=checks)

    result = await score("asserts", {}, case, "Paris, not Lyon")

    assert result.value == 0.5
    assert [item["pass"] for item in result.details["assertions"]] == [True, False]


async def test_asserts_scorer_without_asserts_is_unscorable() -> None:
    result = await score("asserts", {}, make_case("x"), "x")

    assert result == Score.unscorable("case has no assert list")


# --- score_completion -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUILTINS))
async def test_a_completion_without_an_answer_scores_zero(name: str) -> None:
    options: dict[str, Any] = {"schema": {}} if name == "json_schema" else {}
    scorer = ScorerSpec(name, options).build()
    failed = Completion(case_id="c1", error="HTTP 500 after 3 attempts", error_kind="server")

    result = await score_completion(scorer, make_case("42"), failed, None)

    assert result.value == 0.0
    assert result.explanation == "no answer: HTTP 500 after 3 attempts"


async def test_a_scorer_that_raises_becomes_unscorable() -> None:
    async def broken(
        case: Case, completion: Completion, production: Completion | None = None
    ) -> Score:
        raise KeyError("rubric")

    result = await score_completion(broken, make_case(), Completion(case_id="c1", output="x"), None)

    assert result == Score.unscorable("KeyError: 'rubric'")


async def test_score_completion_hands_the_production_answer_to_the_scorer() -> None:
    seen: list[Completion | None] = []

    async def pairwise(
        case: Case, completion: Completion, production: Completion | None = None
    ) -> Score:
        seen.append(production)
        return Score(value=1.0)

    production = Completion(case_id="c1", output="baseline")
    result = await score_completion(pairwise, make_case(), Completion(case_id="c1", output="x"), production)

    assert result.value == 1.0
    assert seen == [production]
