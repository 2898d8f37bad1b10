"""Quality evidence for the advisor: the paired comparisons it is given, and what they decide.

The statistics (`evals.stats`) compute each interval and its three-way outcome; this module reads
them against the policy: every comparison that counts (overall and each critical segment) must be
non-inferior; one inferior comparison means stay; an undecided one means `insufficient_evidence`
when it needs more pairs than the cycle has, else stay (the cases were there and did not show it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the statistics stack is slow to import; the advisor only reads its values
    from evals.stats import PairedComparison

Outcome = Literal["non_inferior", "inferior", "undecided"]
QualityStatus = Literal["non_inferior", "inferior", "not_shown", "insufficient"]


@dataclass(frozen=True)
class QualityEvidence:
    """One paired comparison, candidate − production, on the primary scorer."""

    difference: float | None
    """Mean of candidate − production over the pairs; None without pairs."""
    ci_low: float | None
    """Lower bound of the interval; None when it cannot be computed."""
    ci_high: float | None
    """Upper bound of the interval."""
    n_pairs: int
    """Paired cases compared (a failure of either side is a pair, scored as a failure)."""
    method: str
    """The interval's method, e.g. `tango`, `newcombe`, `bootstrap`, `cluster-t`."""
    cases_needed: int | None
    """Pairs needed to decide at the observed variance; None when unknown."""
    outcome: Outcome
    """`non_inferior` (ci_low > −margin), `inferior` (ci_high ≤ −margin) or `undecided`."""


@dataclass(frozen=True)
class CandidateQuality:
    """A candidate's comparisons: overall and per segment (at least the critical ones)."""

    overall: QualityEvidence
    """Over every paired case."""
    segments: Mapping[str, QualityEvidence] = field(default_factory=dict)
    """Per segment tag, e.g. `lang:fr`."""


@dataclass(frozen=True)
class QualityAssessment:
    """What a candidate's comparisons decide under the policy."""

    status: QualityStatus
    """`non_inferior` everywhere that counts, `inferior` somewhere, `not_shown` (undecided with enough
    pairs) or `insufficient` (undecided, more pairs needed, or a critical segment without pairs)."""
    superior: bool
    """True when the overall lower bound is above 0: provably better."""
    cases_needed: int | None
    """Most pairs needed by an undecided comparison that lacks them (`insufficient` only)."""
    reasons: tuple[str, ...]
    """One sentence per comparison that counts, with its numbers."""
    short: tuple[str, ...] = ()
    """The comparisons (`overall`, segment tags) that lack pairs: undecided for want of them, or empty."""


def quality_from(comparison: PairedComparison) -> CandidateQuality:
    """A paired comparison (candidate − production, overall and per segment) as the advisor's evidence."""
    return CandidateQuality(overall=_evidence(comparison),
                            segments={tag: _evidence(seg) for tag, seg in comparison.segments.items()})


def _evidence(comparison: PairedComparison) -> QualityEvidence:
    outcome: Outcome = "undecided" if comparison.outcome is None else comparison.outcome.value
    return QualityEvidence(difference=comparison.difference, ci_low=comparison.ci_low, ci_high=comparison.ci_high,
                           n_pairs=comparison.n_pairs, method=comparison.method or "none",
                           cases_needed=comparison.cases_needed, outcome=outcome)


def fmt(value: float | None) -> str:
    """A difference with up to three decimals and a true minus sign; `n/a` for None."""
    if value is None:
        return "n/a"
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text.replace("-", "−")


def assess_quality(quality: CandidateQuality, *, margin: float, critical_segments: Sequence[str]) -> QualityAssessment:
    """Read a candidate's comparisons against the non-inferiority margin.

    Args:
        quality: Overall and per-segment comparisons.
        margin: The policy's margin; non-inferior means above −margin.
        critical_segments: Segments that must each be non-inferior.

    Returns:
        The status, and one reason per comparison that counts.
    """
    reasons: list[str] = []
    outcomes: list[Outcome] = []
    shortfalls: list[int] = []
    short: list[str] = []
    missing = False
    for label, evidence in [("overall", quality.overall)] + [(s, quality.segments.get(s)) for s in critical_segments]:
        if evidence is None or evidence.n_pairs == 0:
            missing = True
            short.append(label)
            reasons.append(f"{label}: no paired cases in this cycle; add cases tagged {label} to decide it")
            continue
        outcomes.append(evidence.outcome)
        reasons.append(_sentence(label, evidence, margin))
        needed = evidence.cases_needed
        if evidence.outcome == "undecided" and needed is not None and needed > evidence.n_pairs:
            shortfalls.append(needed)
            short.append(label)
    status: QualityStatus
    if "inferior" in outcomes:
        status = "inferior"
    elif missing or shortfalls:
        status = "insufficient"
    elif "undecided" in outcomes:
        status = "not_shown"
    else:
        status = "non_inferior"
    overall = quality.overall
    superior = status == "non_inferior" and overall.ci_low is not None and overall.ci_low > 0
    return QualityAssessment(status=status, superior=superior, cases_needed=max(shortfalls, default=None),
                             reasons=tuple(reasons), short=tuple(short))


def _sentence(label: str, evidence: QualityEvidence, margin: float) -> str:
    head = (f"{label}: candidate − production = {fmt(evidence.difference)} [{fmt(evidence.ci_low)}, "
            f"{fmt(evidence.ci_high)}] on {evidence.n_pairs} pairs ({evidence.method})")
    bound = fmt(-margin)
    if evidence.outcome == "non_inferior":
        better = "; better than production" if evidence.ci_low is not None and evidence.ci_low > 0 else ""
        return f"{head}, above {bound}: non-inferior{better}"
    if evidence.outcome == "inferior":
        return f"{head}, below {bound}: worse than production by more than the margin"
    needed = evidence.cases_needed
    if needed is None:
        return f"{head}, straddles {bound}: undecided"
    if needed > evidence.n_pairs:
        return (f"{head}, straddles {bound}: undecided; about {needed} pairs are needed to decide "
                f"({needed - evidence.n_pairs} more)")
    return (f"{head}, straddles {bound}: undecided although the {evidence.n_pairs} pairs suffice "
            f"(about {needed} needed): non-inferiority is not shown")
