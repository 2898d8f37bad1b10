"""The advisor's verdict for one cycle: `stay`, `switch_advisable` (to one candidate) or `insufficient_evidence`.

A candidate is *eligible* when it may serve production traffic, keeps the latency SLO and is
non-inferior overall and in every critical segment. It is *advisable* when it is eligible and
there is a reason to move: production may not serve production traffic (privacy), the candidate
saves at least `min_saving` (cost), or it is provably better (`ci_low > 0`) at an extra cost
within `max_cost_increase` (quality). The switch goes to the advisable candidate with the largest
saving, ties broken by the quality difference. Without one, the verdict is
`insufficient_evidence` when a candidate that would be advised if non-inferior is undecided for
want of pairs, else `stay`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evals.advisor.cost import CostComparison, MonthlyCost, compare_costs, monthly_cost
from evals.advisor.evidence import CandidateEvidence, ModelEvidence
from evals.advisor.hysteresis import Announcement, Verdict
from evals.advisor.latency import LatencyCheck, check_latency
from evals.advisor.policy import AdvisorPolicy, LatencySLO
from evals.advisor.privacy import PrivacyCheck, check_serving
from evals.advisor.quality import QualityAssessment, assess_quality
from evals.advisor.reasons import cost_reasons, failure_reasons, grounds_reasons, pct

Ground = Literal["privacy", "cost", "quality"]


@dataclass(frozen=True)
class CandidateAssessment:
    """Everything the advisor found about one candidate."""

    model: str
    """The candidate's name."""
    evidence: CandidateEvidence
    """What it was given."""
    privacy: PrivacyCheck
    """May it serve production traffic?"""
    latency: LatencyCheck
    """Its latency against the SLO."""
    quality: QualityAssessment
    """Its comparisons against the margin."""
    cost: CostComparison | None
    """Its cost against production's at the volume; None without `policy.volume`."""
    grounds: tuple[Ground, ...]
    """The reasons to move to it, if it is (or were) eligible."""
    eligible: bool
    """May serve production, keeps the SLO, and is non-inferior overall and in every critical segment."""
    reasons: tuple[str, ...]
    """Plain sentences with the numbers behind `eligible` and `grounds`."""

    @property
    def advisable(self) -> bool:
        """Eligible, with a reason to move."""
        return self.eligible and bool(self.grounds)

    @property
    def saving(self) -> float | None:
        """The fraction of production's monthly cost saved; None when not compared."""
        return None if self.cost is None else self.cost.saving


@dataclass(frozen=True)
class Recommendation:
    """The advisor's verdict for one cycle, with its reasons and evidence."""

    cycle_verdict: Verdict
    """This cycle's own verdict (hysteresis decides what is announced)."""
    to: str | None
    """The candidate to switch to; None unless `cycle_verdict` is `switch_advisable`."""
    reasons: tuple[str, ...]
    """The verdict, then watch-wide facts, then each candidate's sentences (prefixed by its name)."""
    production: str
    """The production model's name."""
    focus: str | None
    """The candidate the quality/cost/latency/privacy sections describe: the switch target, the
    undecided candidate, else the first candidate."""
    cases_needed: int | None
    """With `insufficient_evidence`: the pairs the focus candidate needs (None if unknown)."""
    candidates: tuple[CandidateAssessment, ...]
    """Every candidate, in the watch's order."""
    production_privacy: PrivacyCheck
    """May production itself serve production traffic?"""
    production_latency: LatencyCheck
    """Production's latency (reported; it is not disqualified by it)."""
    production_cost: MonthlyCost | None
    """Production's monthly cost; None without `policy.volume`."""
    golden_set_class: str
    """The golden set's privacy class."""
    margin: float
    """The policy's non-inferiority margin."""
    hysteresis: int
    """The policy's hysteresis, shown next to `consecutive`."""
    slo: LatencySLO | None
    """The policy's latency SLO."""
    simulated: tuple[str, ...] = ()
    """The watch's simulated models (`kind: sim`), which every output labels as such."""

    def to_dict(self, *, watch: str, cycle_id: int | None, announcement: Announcement) -> dict[str, Any]:
        """The JSON shape of `turnout advise --json` (stable: keys are added, never renamed)."""
        from evals.advisor.report import recommendation_dict  # noqa: PLC0415 - report reads this module's types

        return recommendation_dict(self, watch=watch, cycle_id=cycle_id, announcement=announcement)


def advise(
    *,
    production: ModelEvidence,
    candidates: Sequence[CandidateEvidence],
    policy: AdvisorPolicy,
    golden_set_class: str,
    drifted: Mapping[str, str] | None = None,
) -> Recommendation:
    """Decide whether the watch should move from production to one of its candidates.

    Args:
        production: The production model's evidence.
        candidates: Each candidate's evidence and paired comparison against production.
        policy: The watch's advisor policy.
        golden_set_class: The golden set's privacy class (`public`, `internal`, `confidential`).
        drifted: Models (judges included) found drifted this cycle, name → what changed; named in the reasons.

    Returns:
        The cycle's recommendation. Never raises on evidence: missing numbers become reasons.
    """
    residencies = policy.allowed_residencies
    prod_privacy = check_serving(production.spec, privacy=golden_set_class, allowed_residencies=residencies)
    prod_latency = check_latency(model=production.spec.display_name, kind=production.spec.kind,
                                 evidence=production.latency, slo=policy.latency_slo_ms)
    prod_cost = None if policy.volume is None else monthly_cost(
        spec=production.spec, volume=policy.volume, mix=production.mix,
        capacity_rps=production.capacity_rps, measured_rps=production.measured_rps)
    general: list[str] = []
    if not prod_privacy.ok:
        general.append(f"production: {prod_privacy.reason}; it may not serve production traffic, which is itself "
                       f"a reason to move to an eligible candidate")
    if policy.volume is None:
        general.append("no policy.volume: costs are not compared and no switch is advised for cost")
    if policy.latency_slo_ms is None:
        general.append("no policy.latency_slo_ms: latency is reported, not checked")
    general.extend(f"production: {reason}" for reason in prod_latency.reasons)
    shown = {production.spec.name: production.spec.display_name,
             **{c.model.spec.name: c.model.spec.display_name for c in candidates}}
    for name, change in (drifted or {}).items():
        role = "production" if name == production.spec.name else "candidate" if name in shown else "judge"
        general.append(f"{role} {shown.get(name, name)} drifted: {change}")
    general.extend(f"production: {line}" for line in failure_reasons(production, None))
    if prod_cost is not None and prod_cost.note:
        general.append(f"production: {prod_cost.note}")
    assessed = tuple(_assess(c, prod_cost=prod_cost, prod_ok=prod_privacy.ok,
                             policy=policy, golden_set_class=golden_set_class) for c in candidates)
    verdict: Verdict = "stay"
    to = focus = None
    cases_needed = None
    advisable = [a for a in assessed if a.advisable]
    waiting = [
        a for a in assessed if a.privacy.ok and a.latency.ok and a.quality.status == "insufficient" and a.grounds
    ]
    if advisable:
        best = max(advisable, key=_rank)
        verdict, to, focus = "switch_advisable", best.model, best.model
        segments = f" and in {', '.join(policy.critical_segments)}" if policy.critical_segments else ""
        why = "; ".join(_ground_words(best, policy))
        headline = f"switch advisable to {shown[best.model]}: non-inferior overall{segments}; {why}"
    elif waiting:
        undecided = max(waiting, key=_rank)
        verdict, focus, cases_needed = "insufficient_evidence", undecided.model, undecided.quality.cases_needed
        short = ", ".join(undecided.quality.short)
        headline = (f"insufficient evidence: {shown[undecided.model]} would be advised if shown non-inferior, "
                    f"but it is "
                    f"undecided for want of pairs in {short}"
                    + (f" (about {cases_needed} pairs needed)" if cases_needed is not None else ""))
    else:
        focus = assessed[0].model if assessed else None
        headline = (f"stay on {production.spec.display_name}: no candidate passes every check" if assessed
                    else f"stay on {production.spec.display_name}: the watch has no candidates")
    reasons = [headline, *general, *(f"{shown[a.model]}: {line}" for a in assessed for line in a.reasons)]
    return Recommendation(cycle_verdict=verdict, to=to, reasons=tuple(reasons), production=production.spec.name,
                          focus=focus, cases_needed=cases_needed, candidates=assessed,
                          production_privacy=prod_privacy, production_latency=prod_latency,
                          production_cost=prod_cost, golden_set_class=golden_set_class, margin=policy.margin,
                          hysteresis=policy.hysteresis, slo=policy.latency_slo_ms,
                          simulated=tuple(spec.name for spec in (production.spec, *(c.model.spec for c in candidates))
                                          if spec.simulated))


def _rank(assessment: CandidateAssessment) -> tuple[float, float]:
    saving = assessment.saving
    difference = assessment.evidence.quality.overall.difference
    return (float("-inf") if saving is None else saving, float("-inf") if difference is None else difference)


def _ground_words(assessment: CandidateAssessment, policy: AdvisorPolicy) -> list[str]:
    words = {"privacy": "production may not serve production traffic",
             "cost": f"saves {pct(assessment.saving)} a month (policy.min_saving {pct(policy.min_saving)})",
             "quality": "provably better than production within policy.max_cost_increase"}
    return [words[ground] for ground in assessment.grounds]


def _assess(
    candidate: CandidateEvidence,
    *,
    prod_cost: MonthlyCost | None,
    prod_ok: bool,
    policy: AdvisorPolicy,
    golden_set_class: str,
) -> CandidateAssessment:
    spec = candidate.model.spec
    privacy = check_serving(spec, privacy=golden_set_class, allowed_residencies=policy.allowed_residencies)
    latency = check_latency(model=spec.display_name, kind=spec.kind, evidence=candidate.model.latency,
                            slo=policy.latency_slo_ms)
    quality = assess_quality(candidate.quality, margin=policy.margin, critical_segments=policy.critical_segments)
    cost = None
    if policy.volume is not None and prod_cost is not None:
        own = monthly_cost(spec=spec, volume=policy.volume, mix=candidate.model.mix,
                           capacity_rps=candidate.model.capacity_rps, measured_rps=candidate.model.measured_rps)
        cost = compare_costs(production=prod_cost, candidate=own, volume=policy.volume)
    grounds: list[Ground] = []
    if not prod_ok:
        grounds.append("privacy")
    if cost is not None and cost.saving is not None and cost.saving >= policy.min_saving - 1e-12:
        grounds.append("cost")
    if quality.superior and cost is not None and cost.saving is not None \
            and -cost.saving <= policy.max_cost_increase + 1e-12:
        grounds.append("quality")
    eligible = privacy.ok and latency.ok and quality.status == "non_inferior"
    reasons: list[str] = []
    if not privacy.ok:
        reasons.append(f"not eligible: {privacy.reason}")
    reasons.extend(quality.reasons)
    reasons.extend(failure_reasons(candidate.model, candidate.quality))
    reasons.extend(latency.reasons)
    if cost is not None:
        reasons.extend(cost_reasons(cost, requests_per_month=policy.volume.requests_per_month if policy.volume else 0))
    reasons.extend(grounds_reasons(grounds=tuple(grounds), quality=quality, cost=cost, policy=policy,
                                   ci_low=candidate.quality.overall.ci_low, eligible=eligible,
                                   volume=policy.volume is not None))
    return CandidateAssessment(model=spec.name, evidence=candidate, privacy=privacy, latency=latency, quality=quality,
                               cost=cost, grounds=tuple(grounds), eligible=eligible, reasons=tuple(reasons))
