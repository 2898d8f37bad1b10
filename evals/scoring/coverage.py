"""Whether a watch's scorers grade every check its golden set carries: none is skipped quietly.

An `llm-rubric` is graded only by the `judge` scorer, a `similar` / `not-similar` only by
`semantic_similarity`, an imported multiple-choice sample only by `choice`. A watch whose
scorers (composite scorers' parts included) lack the one a case needs would report scores that
leave those checks out, so `turnout apply` refuses it unless unsupported checks are allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from evals.cases import GoldenSet
from evals.scoring.asserts import DELEGATED
from evals.scoring.registry import ScorerSpec

CHOICES_KEY = "choices"
"""The metadata key of an imported multiple-choice sample's choices (graded by `choice`)."""


@dataclass(frozen=True)
class Ungraded:
    """Cases whose checks of one kind no scorer of the watch grades."""

    check: str
    """The check, e.g. `llm-rubric`, `similar`, `multiple choice`."""
    scorer: str
    """The scorer that would grade it."""
    cases: int


def scorer_names(specs: Iterable[ScorerSpec]) -> set[str]:
    """The names of *specs* and of the parts of composite scorers (`scorers:` options), read leniently."""
    found: set[str] = set()

    def walk(name: object, options: object) -> None:
        if isinstance(name, str):
            found.add(name)
        parts = options.get("scorers") if isinstance(options, dict) else None
        for part in parts if isinstance(parts, list) else ():
            if isinstance(part, str):
                found.add(part.partition(":")[0].strip())
            elif isinstance(part, dict):
                walk(part.get("name"), part.get("options"))

    for spec in specs:
        walk(spec.name, spec.options)
    return found


def ungraded_checks(golden_set: GoldenSet, specs: Iterable[ScorerSpec]) -> list[Ungraded]:
    """The kinds of check in *golden_set* that no scorer in *specs* grades, with how many cases have one.

    Args:
        golden_set: The watch's golden set.
        specs: The watch's scorers.

    Returns:
        One entry per kind of check left ungraded, in a stable order; empty when all are graded.
    """
    names = scorer_names(specs)
    counts: dict[tuple[str, str], int] = {}
    for case in golden_set.cases:
        needs = {(a.type, DELEGATED[a.type]) for a in case.asserts if a.type in DELEGATED}
        if CHOICES_KEY in case.metadata and case.metadata.get("choice_target") is not None:
            needs.add(("multiple choice", "choice"))
        for check, scorer in needs:
            if scorer not in names:
                counts[(check, scorer)] = counts.get((check, scorer), 0) + 1
    return [Ungraded(check, scorer, n) for (check, scorer), n in sorted(counts.items())]


def describe(watch: str, golden_set: str, gaps: list[Ungraded]) -> str:
    """One sentence naming the watch, the golden set, and per kind of check the cases and the scorer they need."""
    parts = [f"{gap.cases} case(s) with `{gap.check}` checks need the `{gap.scorer}` scorer" for gap in gaps]
    return f"watch '{watch}' does not grade every check of golden set '{golden_set}': {'; '.join(parts)}"
