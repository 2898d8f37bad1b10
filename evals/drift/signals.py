"""The drift signals of one run against its reference runs, each a pure function of stored values.

- paired score change: the current run against the reference runs' per-case means, through the same
  `evals.stats.compare_pairs` as `turnout compare` and the advisor (one interval method everywhere);
- output change rate: the share of cases whose answer text changed, against the rate the reference
  runs themselves show between consecutive runs (some endpoints are not deterministic at temperature 0);
- fingerprint and served-model changes: values the current run reports that no reference run did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from scipy import special

from evals.errors import BadReference
from evals.pairing import ScoreTable, pair_runs
from evals.stats import PairedComparison, compare_pairs


@dataclass(frozen=True)
class CaseRecord:
    """One case's first answer in a run, with what Evidently and the change rate read of it."""

    output: str | None
    """The answer text; None when the case failed."""
    latency_ms: float | None = None
    """Whole-request latency."""
    ttft_ms: float | None = None
    """Time to first token."""
    input_tokens: int | None = None
    """Prompt tokens."""
    output_tokens: int | None = None
    """Completion tokens."""
    score: float | None = None
    """The primary scorer's value (mean of the repetitions); None when unscored."""


@dataclass(frozen=True)
class RunSample:
    """What drift reads of one run: its primary scores and its cases, keyed by case content hash."""

    run_id: int
    """The run's id."""
    scores: ScoreTable
    """The run's values on the primary scorer."""
    cases: Mapping[str, CaseRecord] = field(default_factory=dict)
    """Case content hash -> the case's first answer."""
    fingerprints: frozenset[str] = frozenset()
    """The `system_fingerprint` values the run's answers carried."""
    served_models: frozenset[str] = frozenset()
    """The model ids the endpoint answered with."""


@dataclass(frozen=True)
class OutputChange:
    """How many answers changed against the latest reference run, and how many the reference expects."""

    n_cases: int
    """Cases both runs answered."""
    n_changed: int
    """Of those, answers whose text differs."""
    expected_rate: float
    """The change rate between consecutive reference runs (0 with one reference run)."""
    p_value: float | None
    """One-sided binomial test of "no more changes than `expected_rate` (floored) allows"; None without cases."""

    @property
    def rate(self) -> float | None:
        """`n_changed / n_cases`; None without cases."""
        return self.n_changed / self.n_cases if self.n_cases else None


MIN_EXPECTED_CHANGE = 0.02
"""The change rate assumed at the least, so one changed answer out of a few is not an alarm when the
reference runs were too few, or too alike, to measure the endpoint's own noise."""


def reference_table(references: Sequence[RunSample]) -> ScoreTable:
    """The reference runs' scores as one table: each case's values of every reference run together
    (so a case's reference value is its mean over the reference runs)."""
    values: dict[str, list[float]] = {}
    tags: dict[str, Sequence[str]] = {}
    clusters: dict[str, str | None] = {}
    unscorable: set[str] = set()
    reasons: dict[str, str] = {}
    for sample in references:
        for key, run_values in sample.scores.values.items():
            values.setdefault(key, []).extend(run_values)
        unscorable |= sample.scores.unscorable
        reasons.update(sample.scores.reasons)
        tags.update(sample.scores.tags)
        clusters.update(sample.scores.clusters)
    unscorable -= {key for key, found in values.items() if found}  # judged in another reference run
    return ScoreTable(values=values, unscorable=frozenset(unscorable), reasons=reasons, tags=tags,
                      clusters=clusters)


def score_change(current: RunSample, references: Sequence[RunSample], *, margin: float,
                 confidence: float = 0.95) -> PairedComparison:
    """The paired change of the current run against the references (current − reference).

    Raises:
        BadReference: the runs share no case (another golden set, or a run with no scores).
    """
    reference = reference_table(references)
    # Compared on the cases both sides have: a case added or dropped by a new golden-set version is
    # neither side's failure.
    shared = (set(current.scores.values) | current.scores.unscorable) & (
        set(reference.values) | reference.unscorable)
    if not shared:
        ids = ", ".join(str(sample.run_id) for sample in references)
        raise BadReference(f"reference run(s) {ids} share no scored case with run {current.run_id}: pin a run "
                           "of the same golden set that has scores (`turnout drift WATCH --pin RUN_ID`)")
    return compare_pairs(pair_runs(_only(reference, shared), _only(current.scores, shared)), margin=margin,
                         confidence=confidence)


def _only(table: ScoreTable, keys: set[str]) -> ScoreTable:
    return ScoreTable(values={key: found for key, found in table.values.items() if key in keys},
                      unscorable=table.unscorable & keys, reasons=table.reasons, tags=table.tags,
                      clusters=table.clusters)


def output_change(current: RunSample, references: Sequence[RunSample]) -> OutputChange:
    """Answers of the current run that differ from the latest reference run's, and the expected rate.

    Args:
        current: The run checked.
        references: Its reference runs, oldest first.
    """
    changed, total = _changes(references[-1], current) if references else (0, 0)
    rates = [c / n for c, n in (_changes(a, b) for a, b in zip(references, references[1:], strict=False)) if n]
    expected = sum(rates) / len(rates) if rates else 0.0
    p_value = None
    if total:
        floor = min(max(expected, MIN_EXPECTED_CHANGE), 1.0)
        # P(X >= changed) for X ~ Binomial(total, floor)
        p_value = 1.0 if changed == 0 else float(special.bdtrc(changed - 1, total, floor))
    return OutputChange(n_cases=total, n_changed=changed, expected_rate=expected, p_value=p_value)


def _changes(a: RunSample, b: RunSample) -> tuple[int, int]:
    keys = [key for key, record in b.cases.items()
            if record.output is not None and key in a.cases and a.cases[key].output is not None]
    return sum(a.cases[key].output != b.cases[key].output for key in keys), len(keys)


def new_values(current: frozenset[str], references: Sequence[frozenset[str]]) -> tuple[str, ...]:
    """Values (fingerprints, model ids) the current run reports that no reference run did, sorted;
    empty when the references reported none (nothing to compare with)."""
    seen = frozenset().union(*references) if references else frozenset()
    return tuple(sorted(current - seen)) if seen else ()
