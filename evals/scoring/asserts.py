"""A case's own checks in promptfoo's vocabulary, applied to one answer.

Supported: the deterministic types of :mod:`evals.scoring.assert_checks` and their `not-`
negations, `cost` / `latency` (the value is the most the answer may cost in USD / take in
milliseconds, checked on the measured completion), and `assert-set`, a group of supported asserts
that passes when every one passes or, with a `threshold`, when their weighted score reaches it.
`llm-rubric`, `similar` and `not-similar` are graded by the `judge` and `semantic_similarity`
scorers. Anything else (`javascript`, `python`, `webhook`, `not-llm-rubric`, ...) is
unsupported: `turnout apply` refuses it unless told to import it, and then the case is unscorable.
The score is promptfoo's: the weighted mean of the asserts' scores, an `assert-set` scoring its
children's weighted mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from evals.cases import Assertion
from evals.results import Completion, Score
from evals.scoring.assert_checks import CHECKS, InvalidAssertion, levenshtein_check

__all__ = ["CHECKS", "DELEGATED", "MEASURED", "InvalidAssertion", "Outcome", "is_supported", "run_assertion",
           "UNSCORABLE_UNSUPPORTED", "UNSUPPORTED_REASON", "score_assertions", "set_children", "unsupported_types"]

MEASURED: dict[str, tuple[str, str]] = {"cost": ("cost_usd", "USD"), "latency": ("latency_ms", "ms")}
"""Checks on what was measured for the answer: the completion attribute and its unit."""

DELEGATED: dict[str, str] = {"llm-rubric": "judge", "similar": "semantic_similarity",
                             "not-similar": "semantic_similarity"}
"""Types another scorer grades: the importer gives it the rubric (`criteria`) or the text and threshold."""

ASSERT_SET = "assert-set"


def is_supported(assertion_type: str) -> bool:
    """Whether Turnout can run an assertion of this type (here, or through the scorer it is delegated to).

    An `assert-set` is supported as a type; :func:`unsupported_types` also looks inside it.
    """
    return (
        assertion_type in MEASURED
        or assertion_type in DELEGATED
        or assertion_type == ASSERT_SET
        or assertion_type.removeprefix("not-") in CHECKS
    )


def set_children(assertion: Assertion) -> list[Assertion]:
    """The asserts an `assert-set` groups (its value).

    Raises:
        InvalidAssertion: When the value is not a non-empty list of asserts.
    """
    value = assertion.value
    if not isinstance(value, list | tuple) or not value:
        raise InvalidAssertion(f"'{ASSERT_SET}' needs a non-empty list of asserts, got {value!r}")
    try:
        return [item if isinstance(item, Assertion) else Assertion.model_validate(item) for item in value]
    except ValidationError as exc:
        raise InvalidAssertion(f"'{ASSERT_SET}' has a malformed assert: {exc.errors()[0]['msg']}") from None


def _unsupported_in_set(assertion: Assertion) -> list[str]:
    try:
        children = set_children(assertion)
    except InvalidAssertion:
        return []  # malformed, not unsupported: scoring says so
    found: list[str] = []
    for child in children:
        if child.type == ASSERT_SET:
            found += _unsupported_in_set(child)
        elif child.type in DELEGATED or not is_supported(child.type):
            # A judge or an embedding inside a group cannot take part in the group's score.
            found.append(f"{child.type} (inside {ASSERT_SET})")
    return found


def unsupported_types(assertions: Sequence[Assertion]) -> list[str]:
    """The types among *assertions* that Turnout cannot run, in order (`x (inside assert-set)` for a group's)."""
    found: list[str] = []
    for assertion in assertions:
        if assertion.type == ASSERT_SET:
            found += _unsupported_in_set(assertion)
        elif not is_supported(assertion.type):
            found.append(assertion.type)
    return found


@dataclass(frozen=True)
class Outcome:
    """One assertion applied to one output. `passed is None`: skipped (unsupported type)."""

    assertion: Assertion
    passed: bool | None
    reason: str
    score: float | None = None
    """The assertion's score when it is not simply 1 or 0 for a pass or a fail (an `assert-set`'s)."""
    children: tuple[Outcome, ...] = field(default=())

    @property
    def value(self) -> float:
        """What the assertion adds to the weighted mean, per unit of weight."""
        return self.score if self.score is not None else float(bool(self.passed))

    def to_data(self) -> dict[str, Any]:
        """As stored in the score's details."""
        data: dict[str, Any] = {
            "type": self.assertion.type,
            "value": self.assertion.value,
            "weight": self.assertion.weight,
            "pass": self.passed,
            "reason": self.reason,
        }
        if self.children:
            data.update(value=None, score=self.score, threshold=self.assertion.threshold,
                        assertions=[child.to_data() for child in self.children])
        return data


def _check_weight(assertion: Assertion) -> None:
    if not (math.isfinite(assertion.weight) and assertion.weight >= 0):
        raise InvalidAssertion(f"weight must be a number >= 0, got {assertion.weight}")


def run_assertion(assertion: Assertion, output: str) -> Outcome:
    """Apply one deterministic assertion to *output*.

    Raises:
        InvalidAssertion: when the assertion's value or weight cannot be used with its type.
    """
    negated = assertion.type.startswith("not-")
    base = assertion.type.removeprefix("not-")
    check_fn = CHECKS.get(base)
    if check_fn is None:
        return Outcome(assertion, None, f"unsupported assertion type '{assertion.type}' (skipped)")
    _check_weight(assertion)
    if base == "levenshtein" and assertion.threshold is not None:
        check = levenshtein_check(assertion.value, output, assertion.threshold)
    else:
        check = check_fn(assertion.value, output)
    passed = check.holds != negated
    verdict = "passed" if passed else "failed"
    reason = f"{verdict}: expected output to {'not ' if negated else ''}{check.expectation}"
    if check.note:
        reason += f" ({check.note})"
    return Outcome(assertion, passed, reason)


def _measured(assertion: Assertion, completion: Completion | None) -> Outcome:
    if completion is None:
        return Outcome(assertion, None, f"'{assertion.type}' needs the measured completion (skipped)")
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


def _assert_set(assertion: Assertion, output: str, completion: Completion | None) -> Outcome:
    """promptfoo's assertion set: the weighted mean of its children; passes when all pass, or at `threshold`."""
    _check_weight(assertion)
    threshold = assertion.threshold
    if threshold is not None and not math.isfinite(threshold):
        raise InvalidAssertion(f"'{ASSERT_SET}' threshold must be a number, got {threshold!r}")
    children = tuple(_apply(child, output, completion) for child in set_children(assertion))
    skipped = [child for child in children if child.passed is None]
    if skipped:
        return Outcome(assertion, None, f"{ASSERT_SET} not applied: {skipped[0].reason}", children=children)
    total = sum(child.assertion.weight for child in children)
    score = sum(child.assertion.weight * child.value for child in children) / total if total > 0 else 0.0
    if threshold is None:
        passed = all(child.passed for child in children)
        rule = "every assert passes" if passed else "not every assert passes"
    else:
        passed = score >= threshold
        rule = f"score {score:.2f} {'>=' if passed else '<'} threshold {threshold:g}"
    reason = f"{'passed' if passed else 'failed'}: {ASSERT_SET} of {len(children)} ({rule})"
    return Outcome(assertion, passed, reason, score=score, children=children)


def _apply(assertion: Assertion, output: str, completion: Completion | None) -> Outcome:
    if assertion.type in MEASURED:
        return _measured(assertion, completion)
    if assertion.type == ASSERT_SET:
        return _assert_set(assertion, output, completion)
    if assertion.type in DELEGATED:
        return Outcome(assertion, None, f"graded by the '{DELEGATED[assertion.type]}' scorer (skipped here)")
    return run_assertion(assertion, output)


def score_assertions(
    assertions: Sequence[Assertion],
    output: str,
    *,
    completion: Completion | None = None,
    unsupported: Literal["skip", "unscorable"] = "skip",
) -> Score:
    """Score *output* by the weighted mean of the supported assertions' scores (1 or 0 for most).

    Args:
        assertions: The case's checks.
        output: The answer text.
        completion: The completion, for `cost` and `latency` checks; without it they are skipped.
        unsupported: `skip` leaves unsupported types out of the mean; `unscorable` makes the
            case unscorable, since a score without one of its checks is not the score promptfoo
            would give (the `asserts` scorer uses this). Types other scorers grade are left out
            either way.

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
            outcomes.append(_apply(assertion, output, completion))
        except InvalidAssertion as exc:
            invalid.append(f"#{number} {assertion.type}: {exc}")
            outcomes.append(Outcome(assertion, None, f"invalid assertion: {exc}"))
    details = {"assertions": [outcome.to_data() for outcome in outcomes]}
    if invalid:
        return Score(value=None, error="invalid assertion(s): " + "; ".join(invalid), details=details)
    cannot_run = unsupported_types(assertions)
    if cannot_run and unsupported == "unscorable":
        reason = f"{UNSUPPORTED_REASON}: {', '.join(cannot_run)}"
        return Score(value=None, error=reason, details=details)
    applied = [outcome for outcome in outcomes if outcome.passed is not None]
    skipped = [outcome.assertion.type for outcome in outcomes if outcome.passed is None]
    if not applied:
        reason = f"no supported assertion (unsupported: {', '.join(skipped)})"
        return Score(value=None, error=reason, details=details)
    total = sum(outcome.assertion.weight for outcome in applied)
    if total == 0:
        return Score(value=None, error="every supported assertion has weight 0", details=details)
    earned = sum(outcome.assertion.weight * outcome.value for outcome in applied)
    failed = [outcome.assertion.type for outcome in applied if not outcome.passed]
    explanation = f"{len(applied) - len(failed)} of {len(applied)} assertions passed"
    if failed:
        explanation += f"; failed: {', '.join(failed)}"
    if skipped:
        explanation += f"; skipped (unsupported): {', '.join(skipped)}"
    return Score(value=earned / total, explanation=explanation, details=details)


UNSUPPORTED_REASON = "unsupported assertion(s) imported as unscorable"
"""How the `asserts` scorer's error begins for a case with asserts Turnout cannot run."""
UNSCORABLE_UNSUPPORTED = "unsupported asserts"
"""The name, in a run's counts of unscorable cases, of those made unscorable by unsupported asserts."""
