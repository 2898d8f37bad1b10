"""Whether Turnout can run every check of a golden set: nothing is dropped without saying so."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from evals.cases import Assertion, GoldenSet
from evals.errors import GoldenSetError, ProblemCollector
from evals.scoring.asserts import InvalidAssertion, set_children, unsupported_types

PROBLEM_LIMIT = 20
"""How many cases with unsupported asserts are listed; the rest are counted."""


def _check_sets(case_id: str, assertions: Sequence[Assertion], collector: ProblemCollector, *, file: str,
                prefix: str = "assert") -> bool:
    """Refuse an `assert-set` whose value is not a list of asserts (what the `asserts` scorer could not apply).

    Returns:
        Whether one was found.
    """
    found = False
    for index, assertion in enumerate(assertions):
        if assertion.type != "assert-set":
            continue
        try:
            children = set_children(assertion)
        except InvalidAssertion as exc:
            collector.add(GoldenSetError(f"case {case_id!r}: malformed {prefix}[{index}]: {exc}", file=file,
                                         field=f"{prefix}[{index}].value"))
            found = True
            continue
        found = _check_sets(case_id, children, collector, file=file, prefix=f"{prefix}[{index}].value") or found
    return found


def _position(index: int, kind: str, inner: list[str]) -> str:
    if inner == [kind]:
        return f"assert[{index}] {kind}"
    held = ", ".join(name.removesuffix(f" (inside {kind})") for name in inner)
    return f"assert[{index}] {kind} (holding {held})"


def check_supported(golden_set: GoldenSet, *, allowed: bool, file: str) -> tuple[str, ...]:
    """Refuse asserts Turnout cannot run, or, when *allowed*, say how many cases they make unscorable.

    Args:
        golden_set: The cases read.
        allowed: `--allow-unsupported` or the golden set's `allow_unsupported: true`.
        file: Where the cases were read, for the messages.

    Returns:
        The notes for `apply`'s output (empty when every assert is supported).

    Raises:
        ConfigProblems: One problem per case with an unsupported assert, and per malformed
            `assert-set` (GoldenSetError for one).
    """
    collector = ProblemCollector(file=file, limit=PROBLEM_LIMIT)
    kinds: Counter[str] = Counter()
    cases = 0
    malformed = False
    for case in golden_set.cases:
        malformed = _check_sets(case.id, case.asserts, collector, file=file) or malformed
        found = unsupported_types(case.asserts)
        if not found:
            continue
        cases += 1
        kinds.update(found)
        positions = [_position(i, a.type, inner) for i, a in enumerate(case.asserts)
                     if (inner := unsupported_types([a]))]
        collector.add(GoldenSetError(
            f"case {case.id!r}: Turnout cannot run {', '.join(positions)}; remove them, or import them as "
            "unscorable with `turnout apply --allow-unsupported` (or `allow_unsupported: true` on the golden set)",
            file=file, field="assert"))  # fmt: skip
    if malformed or not cases:
        collector.raise_if_any()  # a malformed assert-set is refused, whatever is allowed
        return ()
    if not allowed:
        collector.raise_if_any()
    listed = ", ".join(f"{kind} x{count}" for kind, count in sorted(kinds.items()))
    return (f"{cases} case(s) carry asserts Turnout cannot run ({listed}); the `asserts` scorer marks them "
            "unscorable",)
