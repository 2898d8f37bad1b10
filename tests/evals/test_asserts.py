"""The assertion engine behind the `asserts` scorer (promptfoo vocabulary)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evals.cases import Assertion
from evals.scoring.asserts import CHECKS, run_assertion, score_assertions
from evals.scoring.text import levenshtein_within


def check(kind: str, value: Any, output: str) -> bool | None:
    return run_assertion(Assertion(type=kind, value=value), output).passed


@pytest.mark.parametrize(
    ("kind", "value", "output", "passed"),
    [
        ("equals", "Paris", "Paris", True),
        ("equals", "Paris", "Paris\n", False),  # literal, as in promptfoo
        ("equals", 42, "42", True),
        ("equals", 1.0, "1", True),
        ("equals", {"a": [1, 2]}, '{"a": [1, 2.0]}', True),  # object value: compared as JSON
        ("equals", {"a": True}, '{"a": 1}', False),  # true is not 1 in JSON
        ("equals", ["x"], "not json", False),
        ("contains", "Paris", "It is Paris.", True),
        ("contains", "paris", "It is Paris.", False),
        ("icontains", "paris", "It is PARIS.", True),
        ("contains-any", ["Lyon", "Paris"], "It is Paris.", True),
        ("contains-any", ["Lyon", "Nice"], "It is Paris.", False),
        ("contains-any", "Lyon, Paris", "It is Paris.", True),  # comma-separated string
        ("contains-all", ["It", "Paris"], "It is Paris.", True),
        ("contains-all", ["It", "paris"], "It is Paris.", False),
        ("icontains-any", ["PARIS"], "It is Paris.", True),
        ("icontains-all", ["it", "PARIS"], "It is Paris.", True),
        ("icontains-all", ["it", "lyon"], "It is Paris.", False),
        ("starts-with", "Yes", "Yes, it is.", True),
        ("starts-with", "Yes", " Yes, it is.", False),
        ("regex", r"^\d{3}-\d{4}$", "555-1234", True),
        ("regex", r"^\d{3}-\d{4}$", "call 555-1234", False),
        ("is-json", None, '{"a": 1}', True),
        ("is-json", None, 'Sure! {"a": 1}', False),
        ("is-json", {"type": "object", "required": ["b"]}, '{"a": 1}', False),
        ("is-json", '{"type": "object", "required": ["a"]}', '{"a": 1}', True),  # schema as text
        ("contains-json", None, 'Sure! {"a": {"b": [1]}} and more', True),
        ("contains-json", None, "See reference [1].", False),  # only objects count
        ("contains-json", {"required": ["b"]}, 'x {"a": 1} y {"b": 2}', True),  # any object may match
        ("contains-json", {"required": ["c"]}, 'x {"a": 1} y {"b": 2}', False),
        ("levenshtein", "kitten", "sitting", True),  # distance 3 <= 5
        ("levenshtein", "kitten", "kitten on the keys", False),
    ],
)
def test_each_supported_type(kind: str, value: Any, output: str, passed: bool) -> None:
    assert check(kind, value, output) is passed


@pytest.mark.parametrize("kind", sorted(CHECKS))
def test_not_prefix_negates_every_supported_type(kind: str) -> None:
    values = {
        "equals": "a",
        "contains-any": ["a"],
        "contains-all": ["a"],
        "icontains-any": ["a"],
        "icontains-all": ["a"],
        "is-json": None,
        "contains-json": None,
    }
    value = values.get(kind, "a")
    output = '{"k": "a"}' if "json" in kind else "a"

    assert check(kind, value, output) is True
    assert check(f"not-{kind}", value, output) is False
    assert check(f"not-{kind}", value, "zzzzzzzz") is True


def test_failure_reason_says_what_was_expected_and_what_is_missing() -> None:
    outcome = run_assertion(Assertion(type="contains-all", value=["Paris", "Lyon"]), "Paris")

    assert outcome.reason == "failed: expected output to contain all of ['Paris', 'Lyon'] (missing ['Lyon'])"
    negated = run_assertion(Assertion(type="not-contains", value="Paris"), "Paris")
    assert negated.reason == "failed: expected output to not contain 'Paris'"


@pytest.mark.parametrize(
    ("asserts", "output", "value"),
    [
        ([{"type": "contains", "value": "a"}, {"type": "contains", "value": "b"}], "a", 0.5),
        ([{"type": "contains", "value": "a", "weight": 3}, {"type": "contains", "value": "b"}], "a", 0.75),
        ([{"type": "contains", "value": "a", "weight": 0}, {"type": "contains", "value": "b"}], "a", 0.0),
        # unsupported types are skipped: they neither pass nor fail
        ([{"type": "contains", "value": "a"}, {"type": "llm-rubric", "value": "is polite"}], "a", 1.0),
        ([{"type": "not-contains", "value": "b"}, {"type": "latency", "value": 100}], "a", 1.0),
    ],
)
def test_value_is_the_weighted_fraction_of_supported_assertions_passed(
    asserts: list[dict[str, Any]], output: str, value: float
) -> None:
    result = score_assertions([Assertion(**item) for item in asserts], output)

    assert result.value == value


def test_details_report_every_assertion_including_skipped_ones() -> None:
    asserts = [Assertion(type="contains", value="a"), Assertion(type="javascript", value="output.length > 1")]

    result = score_assertions(asserts, "a")

    assert result.details["assertions"] == [
        {"type": "contains", "value": "a", "weight": 1.0, "pass": True,
         "reason": "passed: expected output to contain 'a'"},
        {"type": "javascript", "value": "output.length > 1", "weight": 1.0, "pass": None,
         "reason": "unsupported assertion type 'javascript' (skipped)"},
    ]
    assert result.explanation == "1 of 1 assertions passed; skipped (unsupported): javascript"


def test_only_unsupported_assertions_is_unscorable_and_names_them() -> None:
    asserts = [Assertion(type="llm-rubric", value="polite"), Assertion(type="python", value="True")]

    result = score_assertions(asserts, "a")

    assert result.value is None
    assert result.error == "no supported assertion (unsupported: llm-rubric, python)"
    assert len(result.details["assertions"]) == 2


def test_no_assertions_is_unscorable() -> None:
    result = score_assertions([], "a")

    assert result.value is None
    assert result.error == "case has no assert list"


def test_zero_total_weight_is_unscorable() -> None:
    result = score_assertions([Assertion(type="contains", value="a", weight=0)], "a")

    assert result.value is None


@pytest.mark.parametrize(
    ("assertion", "message"),
    [
        (Assertion(type="regex", value="(unclosed"), "#1 regex: 'regex' pattern '(unclosed' is invalid"),
        (Assertion(type="contains", value=None), "'contains' needs a non-empty string or number value"),
        (Assertion(type="contains-any", value=[]), "'contains-any' needs a non-empty list value"),
        (Assertion(type="is-json", value={"type": 12}), "'is-json': invalid JSON schema"),
        (Assertion(type="contains", value="a", weight=-1), "weight must be a number >= 0"),
    ],
)
def test_a_malformed_assertion_makes_the_case_unscorable(assertion: Assertion, message: str) -> None:
    # A bug in the golden set must not be charged to the model.
    result = score_assertions([assertion, Assertion(type="contains", value="a")], "a")

    assert result.value is None
    assert result.error is not None and message in result.error


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


@given(st.text(alphabet="abc", max_size=30), st.text(alphabet="abc", max_size=30), st.integers(0, 8))
def test_banded_levenshtein_agrees_with_the_full_table(a: str, b: str, limit: int) -> None:
    distance = _levenshtein(a, b)

    assert levenshtein_within(a, b, limit) == (distance if distance <= limit else None)
