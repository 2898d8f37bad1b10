"""The scorer registry and scorer specs: names, versions, options, and the errors for bad specs."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest

import evals.scoring
from evals.errors import UnknownScorer
from evals.scoring import ScorerSpec, registered_scorers
from evals.scoring.catalog import BUILTIN_SCORERS
from evals.scoring.options import text_option

BUILTINS = {"exact_match", "contains", "regex", "json_valid", "json_schema", "numeric", "asserts"}

def test_builtins_are_registered_with_version_and_description() -> None:
    registry = registered_scorers()

    assert BUILTINS <= set(registry)
    for name in BUILTINS:
        # `asserts` is at 3: unsupported types make a case unscorable, cost/latency are checked (2), and
        # assert-set and levenshtein's threshold are applied (3); `semantic_similarity` at 2 compares with
        # a case's `similar`/`not-similar` text before `expected`
        assert registry[name].version == {"asserts": "3", "semantic_similarity": "2"}.get(name, "1")
        assert registry[name].description, name


def test_every_scorer_defined_under_evals_scoring_is_listed_in_the_catalog() -> None:
    # given every module of evals.scoring loaded, so each decorated factory has registered
    for module in pkgutil.iter_modules(evals.scoring.__path__):
        importlib.import_module(f"evals.scoring.{module.name}")

    # then the built-in scorers registered are exactly the catalog's list, each once
    registered = {r.factory for r in registered_scorers().values() if r.factory.__module__.startswith("evals.scoring.")}
    assert registered == set(BUILTIN_SCORERS)
    assert len(BUILTIN_SCORERS) == len(registered)


@pytest.mark.parametrize(
    ("value", "blank", "accepted"),
    [
        ("gpt-judge", False, True),
        (" ", True, True),      # text to look for may be a space
        (" ", False, False),    # a model or rubric may not
        ("", True, False),
        (3, True, False),
        (None, True, False),
    ],
)
def test_text_options_refuse_what_is_not_a_usable_string(value: Any, blank: bool, accepted: bool) -> None:
    if accepted:
        assert text_option("opt", value, blank=blank) == value
    else:
        with pytest.raises(TypeError, match="option 'opt' must be a non-empty string"):
            text_option("opt", value, blank=blank)


def test_spec_key_is_canonical_whatever_the_option_order() -> None:
    one = ScorerSpec.parse('exact_match:{"ignore_case": true, "collapse_whitespace": true}')
    two = ScorerSpec.parse('exact_match:{"collapse_whitespace": true,  "ignore_case": true}')

    assert one.key == two.key == 'exact_match:{"collapse_whitespace":true,"ignore_case":true}'
    assert ScorerSpec.parse("exact_match").key == "exact_match"
    assert one.to_data() == {
        "name": "exact_match",
        "options": {"ignore_case": True, "collapse_whitespace": True},
        "version": "1",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no_such_scorer", "unknown scorer 'no_such_scorer'; known scorers: all_of, any_of, asserts, bleu, "),
        ('exact_match:{"ignorecase": true}', "bad options for scorer 'exact_match'"),
        ('exact_match:{"ignore_case": "yes"}', "option 'ignore_case' must be true or false"),
        ('exact_match:{"ignore_case": true', "not valid JSON"),
        ('regex:{"pattern": "(unclosed"}', "option 'pattern' is not a valid regex"),
        ('regex:{"pattern": "a", "flags": "x"}', "option 'flags' takes letters from 'ims'"),
        ("json_schema", "bad options for scorer 'json_schema'"),  # schema is required
        ('json_schema:{"schema": {"type": "nope"}}', "invalid JSON schema at $.type"),
        ('json_schema:{"schema": [1]}', "option 'schema' must be a JSON object"),
        ('numeric:{"tolerance": -1}', "option 'tolerance' must be a finite number >= 0"),
        ('numeric:{"tolerance": "0.1"}', "option 'tolerance' must be a number"),
        ('contains:{"value": ""}', "option 'value' must be a non-empty string"),
        ('json_valid:{"strict": true}', "bad options for scorer 'json_valid'"),
    ],
)
def test_bad_specs_are_refused_with_a_message_saying_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(UnknownScorer) as raised:
        ScorerSpec.parse(text)

    assert message in str(raised.value)


def test_unknown_scorer_message_lists_every_known_scorer() -> None:
    with pytest.raises(UnknownScorer) as raised:
        ScorerSpec.from_data({"name": "exact"})

    assert all(name in str(raised.value) for name in BUILTINS)
