"""A case's own checks in promptfoo's vocabulary, applied to one answer.

Supported: the deterministic types below and their `not-` negations, and `cost` / `latency`
(the value is the most the answer may cost in USD / take in milliseconds), checked on the
measured completion. Anything else (`javascript`, `python`, `webhook`, ...) is unsupported:
`turnout apply` refuses it unless told to import it, and then the case is unscorable.
`llm-rubric` and `similar` are graded by the `judge` and `semantic_similarity` scorers.
Semantics follow promptfoo: string checks are literal (no trimming), `equals` with an object or
list value compares parsed JSON, `contains-any`/`-all` take a list or a comma-separated string,
and `levenshtein` passes within promptfoo's default distance of 5.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evals.cases import Assertion
from evals.results import Completion, Score
from evals.scoring.jsontext import NotJson, find_json_objects, loads_strict, schema_validator, violations
from evals.scoring.text import clip, levenshtein_within

LEVENSHTEIN_MAX_DISTANCE = 5
"""promptfoo's default `threshold`; our Assertion has no field to change it."""


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


def _levenshtein(value: Any, output: str) -> Check:
    if not isinstance(value, str):
        raise InvalidAssertion(f"'levenshtein' needs a string value, got {value!r}")
    distance = levenshtein_within(output, value, LEVENSHTEIN_MAX_DISTANCE)
    expectation = f"be within edit distance {LEVENSHTEIN_MAX_DISTANCE} of {clip(value)!r}"
    note = f"distance {distance}" if distance is not None else f"distance > {LEVENSHTEIN_MAX_DISTANCE}"
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
    "levenshtein": _levenshtein,
}
"""Supported assertion types (each also with a `not-` prefix)."""

MEASURED: dict[str, tuple[str, str]] = {"cost": ("cost_usd", "USD"), "latency": ("latency_ms", "ms")}
"""Checks on what was measured for the answer: the completion attribute and its unit."""


DELEGATED: dict[str, str] = {"llm-rubric": "judge", "similar": "semantic_similarity"}
"""Types another scorer grades: the importer gives it the rubric (`criteria`) or the text (`expected`)."""


def is_supported(assertion_type: str) -> bool:
    """Whether Turnout can run an assertion of this type (here, or through the scorer it is delegated to)."""
    return (
        assertion_type in MEASURED
        or assertion_type in DELEGATED
        or assertion_type.removeprefix("not-") in CHECKS
    )


def unsupported_types(assertions: Sequence[Assertion]) -> list[str]:
    """The types among *assertions* that Turnout cannot run, in order."""
    return [assertion.type for assertion in assertions if not is_supported(assertion.type)]


def _measured(assertion: Assertion, completion: Completion) -> Outcome:
    attribute, unit = MEASURED[assertion.type]
    limit = assertion.value
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit) or limit < 0:
        raise InvalidAssertion(f"'{assertion.type}' needs a threshold >= 0 in {unit}, got {limit!r}")
    seen = getattr(completion, attribute)
    if seen is None:
        return Outcome(assertion, None, f"no {assertion.type} was measured for this answer")
    passed = seen <= limit
    verdict = "passed" if passed else "failed"
    return Outcome(assertion, passed, f"{verdict}: {assertion.type} {seen:g} {unit}, at most {limit:g} {unit} allowed")


@dataclass(frozen=True)
class Outcome:
    """One assertion applied to one output. `passed is None`: skipped (unsupported type)."""

    assertion: Assertion
    passed: bool | None
    reason: str

    def to_data(self) -> dict[str, Any]:
        """As stored in the score's details."""
        return {
            "type": self.assertion.type,
            "value": self.assertion.value,
            "weight": self.assertion.weight,
            "pass": self.passed,
            "reason": self.reason,
        }


def run_assertion(assertion: Assertion, output: str) -> Outcome:
    """Apply one assertion to *output*.

    Raises:
        InvalidAssertion: when the assertion's value or weight cannot be used with its type.
    """
    negated = assertion.type.startswith("not-")
    base = assertion.type.removeprefix("not-")
    check_fn = CHECKS.get(base)
    if check_fn is None:
        return Outcome(assertion, None, f"unsupported assertion type '{assertion.type}' (skipped)")
    if not (math.isfinite(assertion.weight) and assertion.weight >= 0):
        raise InvalidAssertion(f"weight must be a number >= 0, got {assertion.weight}")
    check = check_fn(assertion.value, output)
    passed = check.holds != negated
    verdict = "passed" if passed else "failed"
    reason = f"{verdict}: expected output to {'not ' if negated else ''}{check.expectation}"
    if check.note:
        reason += f" ({check.note})"
    return Outcome(assertion, passed, reason)


def score_assertions(
    assertions: Sequence[Assertion],
    output: str,
    *,
    completion: Completion | None = None,
    unsupported: Literal["skip", "unscorable"] = "skip",
) -> Score:
    """Score *output* by the weighted fraction of supported assertions it passes.

    Args:
        assertions: The case's checks.
        output: The answer text.
        completion: The completion, for `cost` and `latency` checks; without it they are skipped.
        unsupported: `skip` leaves unsupported types out of the fraction; `unscorable` makes the
            case unscorable, since a score without one of its checks is not the score promptfoo
            would give (the `asserts` scorer uses this).

    Returns:
        The score; unscorable when there are no assertions, none is supported, all supported
        ones weigh 0, or one is malformed (the golden set needs fixing, the answer is not to blame).
    """
    if not assertions:
        return Score.unscorable("case has no assert list")
    outcomes: list[Outcome] = []
    invalid: list[str] = []
    for number, assertion in enumerate(assertions, start=1):
        try:
            if assertion.type in DELEGATED and unsupported == "unscorable":
                outcomes.append(Outcome(assertion, None, f"graded by the '{DELEGATED[assertion.type]}' scorer"))
                continue
            if assertion.type in MEASURED:
                outcomes.append(
                    _measured(assertion, completion)
                    if completion is not None
                    else Outcome(assertion, None, f"'{assertion.type}' needs the measured completion (skipped)")
                )
                continue
            outcomes.append(run_assertion(assertion, output))
        except InvalidAssertion as exc:
            invalid.append(f"#{number} {assertion.type}: {exc}")
            outcomes.append(Outcome(assertion, None, f"invalid assertion: {exc}"))
    details = {"assertions": [outcome.to_data() for outcome in outcomes]}
    if invalid:
        return Score(value=None, error="invalid assertion(s): " + "; ".join(invalid), details=details)
    cannot_run = unsupported_types(assertions)
    if cannot_run and unsupported == "unscorable":
        reason = f"unsupported assertion(s) imported as unscorable: {', '.join(cannot_run)}"
        return Score(value=None, error=reason, details=details)
    applied = [outcome for outcome in outcomes if outcome.passed is not None]
    skipped = [outcome.assertion.type for outcome in outcomes if outcome.passed is None]
    if not applied:
        reason = f"no supported assertion (unsupported: {', '.join(skipped)})"
        return Score(value=None, error=reason, details=details)
    total = sum(outcome.assertion.weight for outcome in applied)
    if total == 0:
        return Score(value=None, error="every supported assertion has weight 0", details=details)
    earned = sum(outcome.assertion.weight for outcome in applied if outcome.passed)
    failed = [outcome.assertion.type for outcome in applied if not outcome.passed]
    explanation = f"{len(applied) - len(failed)} of {len(applied)} assertions passed"
    if failed:
        explanation += f"; failed: {', '.join(failed)}"
    if skipped:
        explanation += f"; skipped (unsupported): {', '.join(skipped)}"
    return Score(value=earned / total, explanation=explanation, details=details)
