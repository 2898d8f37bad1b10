"""Which cases two runs are compared on, and what each side counts for on each of them.

The rule, in one place: a case the scorer could not judge on either side is left out on both (a
judge that failed says nothing about either model); a case one side has no score for at all counts
as that side's failure, 0.0 (a model that could not answer is worse, not excused). Runs of two
different golden-set versions are paired only on the cases both versions have (by content hash): a
case added, changed or removed between versions is left out, never a failure of the run that was
never asked it. A run that replayed only a sample of its version (the watch's `sample_cases`) is
paired only on the cases of its sample, likewise: a case it was not asked is no failure of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

LeftOut = Literal["unscorable", "not_in_other_version", "not_sampled"]
"""Why a case is not among the pairs: `unscorable`, the scorer could not judge it on one side or both;
`not_in_other_version`, the runs replayed different golden-set versions and only one of them has it;
`not_sampled`, one side replayed a case sample (`sample_cases`) without it."""


@dataclass(frozen=True)
class ScoreTable:
    """One run's values on one scorer, keyed by case content hash (so versions pair on unchanged cases)."""

    values: Mapping[str, Sequence[float]] = field(default_factory=dict)
    """Case hash → values of its repetitions (unscorable ones left out)."""
    unscorable: frozenset[str] = frozenset()
    """Case hashes the scorer could not judge: left out of pairs on both sides."""
    reasons: Mapping[str, str] = field(default_factory=dict)
    """Case hash → why the scorer could not judge it (the score's error), for cases in `unscorable`."""
    tags: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Case hash → the case's tags (its segments)."""
    clusters: Mapping[str, str | None] = field(default_factory=dict)
    """Case hash → the case's cluster, or None."""
    cases: frozenset[str] | None = None
    """Content hashes of every case of the golden-set version the run replayed. Two tables whose
    `cases` differ come from different versions and pair on the cases both have; None means the same
    version as the other side (a case it lacks is then its failure)."""
    sample: frozenset[str] | None = None
    """Content hashes of the cases the run was asked, when it replayed only a sample of its version
    (`evals.sampling`); None when it was asked every case. Cases outside it are not paired."""


@dataclass(frozen=True)
class Pairs:
    """The cases two runs are compared on, A's and B's values for each, and what was left out."""

    keys: tuple[str, ...]
    """The paired case keys, sorted (so every result is independent of the runs' order)."""
    a: Mapping[str, Sequence[float]]
    """Key → A's values; `(0.0,)` where A has none (its failure)."""
    b: Mapping[str, Sequence[float]]
    """Key → B's values, likewise."""
    tags: Mapping[str, Sequence[str]]
    """Key → tags, from either side."""
    clusters: Mapping[str, str | None]
    """Key → cluster, from either side."""
    left_out: Mapping[str, LeftOut]
    """Keys either side has that are not paired, with why."""
    unscorable_a: int
    """Cases the scorer could not judge in A (each left out on both sides)."""
    unscorable_b: int
    """Cases the scorer could not judge in B, likewise."""
    unscorable_reasons: Mapping[str, int]
    """Why cases were left out: reason → cases, each case counted once (A's reason first, else B's)."""
    failed_a: tuple[str, ...]
    """Paired keys A has no value for, counted as A's failure."""
    failed_b: tuple[str, ...]
    """Paired keys B has no value for, counted as B's failure."""
    across_versions: bool = False
    """The runs replayed different golden-set versions: pairs are limited to the cases both have."""

    def left_out_counts(self) -> dict[str, int]:
        """How many cases were left out, by reason (only reasons that occur)."""
        counts: dict[str, int] = {}
        for reason in self.left_out.values():
            counts[reason] = counts.get(reason, 0) + 1
        return counts


FAILURE: tuple[float, ...] = (0.0,)
"""What a side counts for on a case it has no value for."""


def pair_runs(a: ScoreTable, b: ScoreTable) -> Pairs:
    """Pair run B with run A (B − A is what the statistics then compare).

    Args:
        a: Run A's values on one scorer.
        b: Run B's values on the same scorer.

    Returns:
        The pairs: every case either side has a value for, less those the scorer could not judge on
        either side, and, when the two tables' `cases` differ (two golden-set versions), less those
        only one version has, and less those outside either side's case sample; a side without a value
        for a paired case counts as failing it.
    """
    left_out: dict[str, LeftOut] = {}
    across = a.cases is not None and b.cases is not None and a.cases != b.cases
    if across:
        assert a.cases is not None and b.cases is not None
        shared = a.cases & b.cases
        for key in sorted(a.cases ^ b.cases):
            left_out[key] = "not_in_other_version"
        # A value for a case its own version does not list cannot be paired either.
        for key in sorted((set(a.values) | set(b.values) | a.unscorable | b.unscorable) - shared):
            left_out[key] = "not_in_other_version"
    if a.sample is not None or b.sample is not None:
        for key in sorted(set(a.values) | set(b.values) | a.unscorable | b.unscorable):
            if key not in left_out and not (_asked(a, key) and _asked(b, key)):
                left_out[key] = "not_sampled"
    unscorable_a = {key for key in a.unscorable if key not in left_out}
    unscorable_b = {key for key in b.unscorable if key not in left_out}
    for key in sorted(unscorable_a | unscorable_b):
        left_out[key] = "unscorable"
    keys = tuple(sorted(key for key in set(a.values) | set(b.values) if key not in left_out))
    failed_a = tuple(key for key in keys if not a.values.get(key))
    failed_b = tuple(key for key in keys if not b.values.get(key))
    return Pairs(
        keys=keys,
        a={key: a.values.get(key) or FAILURE for key in keys},
        b={key: b.values.get(key) or FAILURE for key in keys},
        tags={**a.tags, **b.tags},
        clusters={**a.clusters, **b.clusters},
        left_out=dict(sorted(left_out.items())),
        unscorable_a=len(unscorable_a),
        unscorable_b=len(unscorable_b),
        unscorable_reasons=_count_reasons(left_out, a, b),
        failed_a=failed_a,
        failed_b=failed_b,
        across_versions=across,
    )


def _asked(table: ScoreTable, key: str) -> bool:
    return table.sample is None or key in table.sample


UNKNOWN_REASON = "no reason stored"
"""The reason given for an unscorable case whose score says nothing about why."""


def _count_reasons(left_out: Mapping[str, LeftOut], a: ScoreTable, b: ScoreTable) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key in (key for key, why in left_out.items() if why == "unscorable"):
        reason = a.reasons.get(key) if key in a.unscorable else None
        reason = reason or (b.reasons.get(key) if key in b.unscorable else None) or UNKNOWN_REASON
        counts[reason] = counts.get(reason, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
