"""The deterministic checks of promptfoo's vocabulary, each applied to one output text.

Semantics follow promptfoo: string checks are literal (no trimming), `equals` with an object or
list value compares parsed JSON, `contains-any`/`-all` take a list or a comma-separated string,
and `levenshtein` passes within its `threshold` (promptfoo's default distance 5).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evals.scoring.jsontext import NotJson, find_json_objects, loads_strict, schema_validator, violations
from evals.scoring.text import clip, levenshtein_within

LEVENSHTEIN_MAX_DISTANCE = 5
"""promptfoo's default `threshold` for `levenshtein`."""


class InvalidAssertion(ValueError):
    """An assertion whose value does not fit its type: a bug in the golden set, not the answer."""


@dataclass(frozen=True)
class Check:
    """What a check found, before any negation."""

    holds: bool
    expectation: str
    """What the output was expected to do, e.g. `contain 'Paris'`."""
    note: str | None = None
    """What was seen, when it helps (e.g. the missing strings)."""


CheckFn = Callable[[Any, str], Check]


def _as_text(value: Any, kind: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)) and math.isfinite(value):
        return str(value)
    if isinstance(value, str) and value:
        return value
    raise InvalidAssertion(f"'{kind}' needs a non-empty string or number value, got {value!r}")


def _as_list(value: Any, kind: str) -> list[str]:
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = [_as_text(item, kind) for item in value]
    else:
        items = []
    if not items:
        raise InvalidAssertion(f"'{kind}' needs a non-empty list value, got {value!r}")
    return items


def _same_json(a: Any, b: Any) -> bool:
    # Python says True == 1; JSON equality does not.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return bool(a == b)


def _equals(value: Any, output: str) -> Check:
    if isinstance(value, (dict, list)):
        try:
            parsed = loads_strict(output)
        except NotJson:
            return Check(False, f"equal the JSON {clip(str(value))}", "output is not JSON")
        return Check(_same_json(parsed, value), f"equal the JSON {clip(str(value))}")
    want = _as_text(value, "equals")
    return Check(output == want, f"equal {clip(want)!r}")


def _contains(value: Any, output: str) -> Check:
    want = _as_text(value, "contains")
    return Check(want in output, f"contain {clip(want)!r}")


def _icontains(value: Any, output: str) -> Check:
    want = _as_text(value, "icontains")
    return Check(want.casefold() in output.casefold(), f"contain {clip(want)!r} (any case)")


def _contains_some(kind: str, *, every: bool, fold: bool) -> CheckFn:
    def check(value: Any, output: str) -> Check:
        wanted = _as_list(value, kind)
        haystack = output.casefold() if fold else output
        missing = [item for item in wanted if (item.casefold() if fold else item) not in haystack]
        quantifier = "all" if every else "any"
        case_note = " (any case)" if fold else ""
        expectation = f"contain {quantifier} of {clip(str(wanted))}{case_note}"
        holds = not missing if every else len(missing) < len(wanted)
        return Check(holds, expectation, f"missing {clip(str(missing))}" if missing else None)

    return check


def _starts_with(value: Any, output: str) -> Check:
    want = _as_text(value, "starts-with")
    return Check(output.startswith(want), f"start with {clip(want)!r}")


def _regex(value: Any, output: str) -> Check:
    if not isinstance(value, str) or not value:
        raise InvalidAssertion(f"'regex' needs a pattern string, got {value!r}")
    try:
        pattern = re.compile(value)
    except (re.error, OverflowError, RecursionError) as exc:
        raise InvalidAssertion(f"'regex' pattern {value!r} is invalid: {exc}") from None
    return Check(pattern.search(output) is not None, f"match regex {clip(value)!r}")


def _schema_of(value: Any, kind: str) -> Any:
    """The optional schema of `is-json`/`contains-json`; None when there is none."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = loads_strict(value)
        except NotJson as exc:
            raise InvalidAssertion(f"'{kind}' schema is not JSON: {exc}") from None
    try:
        return schema_validator(value)
    except ValueError as exc:
        raise InvalidAssertion(f"'{kind}': {exc}") from None


def _is_json(value: Any, output: str) -> Check:
    validator = _schema_of(value, "is-json")
    expectation = "be JSON" + (" matching the schema" if validator else "")
    try:
        document = loads_strict(output)
    except NotJson as exc:
        return Check(False, expectation, f"not JSON: {exc}")
    if validator is None:
        return Check(True, expectation)
    problems = violations(validator, document)
    note = f"at {problems[0].path}: {clip(problems[0].message)}" if problems else None
    return Check(not problems, expectation, note)


def _contains_json(value: Any, output: str) -> Check:
    validator = _schema_of(value, "contains-json")
    expectation = "contain a JSON object" + (" matching the schema" if validator else "")
    objects = find_json_objects(output)
    if not objects:
        return Check(False, expectation, "no JSON object found")
    if validator is None:
        return Check(True, expectation)
    holds = any(not violations(validator, obj) for obj in objects)
    return Check(holds, expectation, None if holds else f"{len(objects)} object(s), none matching")


def levenshtein_check(value: Any, output: str, max_distance: float = LEVENSHTEIN_MAX_DISTANCE) -> Check:
    """Whether *output* is within *max_distance* edits of the text *value* (promptfoo's `threshold`)."""
    if not isinstance(value, str):
        raise InvalidAssertion(f"'levenshtein' needs a string value, got {value!r}")
    if isinstance(max_distance, bool) or not (isinstance(max_distance, int | float) and max_distance >= 0
                                              and math.isfinite(max_distance)):
        raise InvalidAssertion(f"'levenshtein' needs a threshold >= 0 (edits), got {max_distance!r}")
    limit = int(max_distance)
    distance = levenshtein_within(output, value, limit)
    expectation = f"be within edit distance {limit} of {clip(value)!r}"
    note = f"distance {distance}" if distance is not None else f"distance > {limit}"
    return Check(distance is not None, expectation, note)


CHECKS: dict[str, CheckFn] = {
    "equals": _equals,
    "contains": _contains,
    "icontains": _icontains,
    "contains-any": _contains_some("contains-any", every=False, fold=False),
    "contains-all": _contains_some("contains-all", every=True, fold=False),
    "icontains-any": _contains_some("icontains-any", every=False, fold=True),
    "icontains-all": _contains_some("icontains-all", every=True, fold=True),
    "starts-with": _starts_with,
    "regex": _regex,
    "is-json": _is_json,
    "contains-json": _contains_json,
    "levenshtein": levenshtein_check,
}
"""Supported assertion types (each also with a `not-` prefix)."""
