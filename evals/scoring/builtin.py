"""The built-in deterministic scorers.

Each factory checks its options when the spec is built (a bad option is a TypeError or
ValueError, which the registry reports as UnknownScorer) and returns an async scorer. A
completion without an answer scores 0.0; a case that lacks what the scorer needs is unscorable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from decimal import localcontext as decimal_context
from typing import Any

from evals.cases import Case
from evals.results import Completion, Score
from evals.scoring.apply import no_answer
from evals.scoring.asserts import score_assertions
from evals.scoring.jsontext import NotJson, parse_json_answer, schema_validator, violations
from evals.scoring.options import bool_option, text_option
from evals.scoring.registry import Scorer, scorer
from evals.scoring.text import clip, last_number, normalize_text
from evals.scoring.text import normalize_unicode as unicode_normalized

Judge = Callable[[Case, str], Score]
"""A synchronous judgement of one case's answer text."""

NO_EXPECTED = "case has no expected answer"
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
# Wide enough that any exponent a model writes can be subtracted without overflowing.
_EXACT = Context(prec=60, Emax=MAX_EMAX, Emin=MIN_EMIN)


def _on_answer(judge: Judge) -> Scorer:
    """Make *judge* a Scorer; a completion without an answer scores 0.0 before it is consulted."""

    async def score(case: Case, completion: Completion, production: Completion | None = None) -> Score:
        if completion.output is None or not completion.ok:
            return no_answer(completion)
        return judge(case, completion.output)

    return score


def _expected(case: Case) -> str | None:
    # A blank expected answer (an empty CSV cell) is no expected answer.
    return case.expected if case.expected is not None and case.expected.strip() else None


def _accepted(case: Case, expected: str) -> list[str]:
    # Several right answers (a list of OpenAI-evals ideals): the expected one first.
    return [expected, *(text for text in case.accepted if text.strip() and text != expected)]


@scorer("exact_match", version="1")
def exact_match(
    *,
    ignore_case: bool = False,
    strip: bool = True,
    collapse_whitespace: bool = False,
    remove_punctuation: bool = False,
    normalize_unicode: bool = True,
) -> Scorer:
    """1.0 when the answer equals the expected answer after the chosen normalisations."""
    options = {
        "ignore_case": bool_option("ignore_case", ignore_case),
        "strip": bool_option("strip", strip),
        "collapse_whitespace": bool_option("collapse_whitespace", collapse_whitespace),
        "remove_punctuation": bool_option("remove_punctuation", remove_punctuation),
        "unicode": bool_option("normalize_unicode", normalize_unicode),
    }

    def judge(case: Case, answer: str) -> Score:
        expected = _expected(case)
        if expected is None:
            return Score.unscorable(NO_EXPECTED)
        got = normalize_text(answer, **options)
        wanted = [normalize_text(text, **options) for text in _accepted(case, expected)]
        if got in wanted:
            which = "the expected answer" if got == wanted[0] else "an accepted answer"
            return Score(value=1.0, explanation=f"matches {which}")
        return Score(value=0.0, explanation=f"answer {clip(got)!r} differs from expected {clip(wanted[0])!r}")

    return _on_answer(judge)


@scorer("contains", version="1")
def contains(*, ignore_case: bool = True, value: str | None = None) -> Scorer:
    """1.0 when the expected answer (or the `value` option) occurs in the answer."""
    fold = bool_option("ignore_case", ignore_case)
    fixed = None if value is None else text_option("value", value, blank=True)

    def judge(case: Case, answer: str) -> Score:
        needle = fixed if fixed is not None else _expected(case)
        if needle is None:
            return Score.unscorable(f"{NO_EXPECTED} and the scorer has no 'value' option")
        needles = [needle] if fixed is not None else _accepted(case, needle)
        got = unicode_normalized(answer)
        wanted = [unicode_normalized(text).strip() for text in needles]
        if fold:
            got, wanted = got.casefold(), [text.casefold() for text in wanted]
        want = next((text for text in wanted if text in got), wanted[0])
        found = want in got
        verb = "occurs" if found else "does not occur"
        return Score(value=float(found), explanation=f"{clip(want)!r} {verb} in the answer")

    return _on_answer(judge)


_BAD_PATTERN = (re.error, OverflowError, RecursionError)


def _compile(pattern: str, flags: str) -> re.Pattern[str]:
    combined = 0
    for letter in flags:
        combined |= _REGEX_FLAGS[letter]
    return re.compile(pattern, combined)


@scorer("regex", version="1")
def regex(*, pattern: str | None = None, flags: str = "") -> Scorer:
    """1.0 when the `pattern` option (else the expected answer) is found in the answer."""
    if not isinstance(flags, str) or set(flags) - set(_REGEX_FLAGS):
        raise ValueError(f"option 'flags' takes letters from 'ims', got {flags!r}")
    compiled = None
    fixed = None if pattern is None else text_option("pattern", pattern, blank=True)
    if fixed is not None:
        try:
            compiled = _compile(fixed, flags)
        except _BAD_PATTERN as exc:
            raise ValueError(f"option 'pattern' is not a valid regex: {exc}") from None

    def judge(case: Case, answer: str) -> Score:
        current = compiled
        if current is None:
            expected = _expected(case)
            if expected is None:
                return Score.unscorable(f"{NO_EXPECTED} and the scorer has no 'pattern' option")
            try:
                current = _compile(expected, flags)
            except _BAD_PATTERN as exc:
                return Score.unscorable(f"expected answer is not a valid regex: {exc}")
        match = current.search(answer)
        if match is None:
            return Score(value=0.0, explanation=f"no match for /{clip(current.pattern)}/")
        matched = clip(match.group(0))
        return Score(value=1.0, explanation=f"matched {matched!r}", details={"match": matched})

    return _on_answer(judge)


@scorer("json_valid", version="1")
def json_valid() -> Scorer:
    """1.0 when the answer is JSON (or holds it in a ```json fenced block)."""

    def judge(case: Case, answer: str) -> Score:
        try:
            parsed = parse_json_answer(answer)
        except NotJson as exc:
            return Score(value=0.0, explanation=f"answer is not JSON: {exc}")
        explanation = f"JSON found in the {parsed.source}"
        return Score(value=1.0, explanation=explanation, details={"source": parsed.source})

    return _on_answer(judge)


@scorer("json_schema", version="1")
def json_schema(*, schema: dict[str, Any]) -> Scorer:
    """1.0 when the answer is JSON that validates against the `schema` option."""
    if not isinstance(schema, dict):
        raise TypeError(f"option 'schema' must be a JSON object, got {type(schema).__name__}")
    validator = schema_validator(schema)

    def judge(case: Case, answer: str) -> Score:
        try:
            parsed = parse_json_answer(answer)
        except NotJson as exc:
            return Score(value=0.0, explanation=f"answer is not JSON: {exc}")
        problems = violations(validator, parsed.value)
        details: dict[str, Any] = {"source": parsed.source}
        if not problems:
            return Score(value=1.0, explanation="JSON matches the schema", details=details)
        details["errors"] = [{"path": p.path, "message": clip(p.message)} for p in problems[:10]]
        details["error_count"] = len(problems)
        first = problems[0]
        return Score(
            value=0.0,
            explanation=f"JSON breaks the schema at {first.path}: {clip(first.message)}",
            details=details,
        )

    return _on_answer(judge)


@scorer("numeric", version="1")
def numeric(*, tolerance: float = 0.0, relative: bool = False) -> Scorer:
    """1.0 when the last number in the answer is within `tolerance` of the expected number."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)):
        raise TypeError(f"option 'tolerance' must be a number, got {tolerance!r}")
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"option 'tolerance' must be a finite number >= 0, got {tolerance!r}")
    is_relative = bool_option("relative", relative)
    allowed = Decimal(repr(tolerance))
    kind = "relative tolerance" if is_relative else "tolerance"

    def judge(case: Case, answer: str) -> Score:
        expected_text = _expected(case)
        if expected_text is None:
            return Score.unscorable(NO_EXPECTED)
        # The expected answer may be a worked solution ("... #### 72"): its last number counts.
        expected = last_number(expected_text)
        if expected is None:
            return Score.unscorable(f"expected answer {clip(expected_text, 80)!r} is not a number")
        got = last_number(answer)
        details = {"expected_number": expected.text}
        if got is None:
            return Score(value=0.0, explanation="no number in the answer", details=details)
        details["answer_number"] = got.text
        with decimal_context(_EXACT):
            difference = abs(got.value - expected.value)
            bound = allowed * abs(expected.value) if is_relative else allowed
            within = difference <= bound
        if within:
            explanation = f"{got.text} is within {kind} {tolerance} of {expected.text}"
            return Score(value=1.0, explanation=explanation, details=details)
        return Score(
            value=0.0,
            explanation=f"{got.text} differs from {expected.text} by {difference:g} ({kind} {tolerance})",
            details=details,
        )

    return _on_answer(judge)


@scorer("asserts", version="3")
def asserts() -> Scorer:
    """Weighted fraction of the case's own promptfoo-style assertions that the answer passes.

    `cost` and `latency` checks read the measured completion, an `assert-set` scores its
    children's weighted mean (passing at its `threshold`); a case with an assertion type
    Turnout cannot run (imported with `allow_unsupported`) is unscorable rather than scored
    without it.
    """

    async def score(case: Case, completion: Completion, production: Completion | None = None) -> Score:
        if completion.output is None or not completion.ok:
            return no_answer(completion)
        return score_assertions(case.asserts, completion.output, completion=completion, unsupported="unscorable")

    return score
