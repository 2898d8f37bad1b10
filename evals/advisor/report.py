"""The JSON shape of a recommendation (`turnout advise --json`, the API, the stored row).

The shape is a contract: keys are added, never renamed. Sections describe the focus candidate
(the switch target, else the undecided one, else the first); each section keeps its keys with
None values when there is nothing to show (no candidate, no volume, no SLO).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evals.advisor.hysteresis import Announcement
from evals.advisor.quality import QualityEvidence

if TYPE_CHECKING:
    from evals.advisor.verdict import CandidateAssessment, Recommendation


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _comparison(evidence: QualityEvidence) -> dict[str, Any]:
    return {"difference": evidence.difference, "ci_low": evidence.ci_low, "ci_high": evidence.ci_high,
            "n_pairs": evidence.n_pairs}


def _quality(rec: Recommendation, focus: CandidateAssessment | None) -> dict[str, Any] | None:
    if focus is None:
        return None
    overall = focus.evidence.quality.overall
    segments = {name: {**_comparison(seg), "non_inferior": seg.outcome == "non_inferior",
                       "cases_needed": seg.cases_needed, "outcome": seg.outcome}
                for name, seg in focus.evidence.quality.segments.items()}
    return {**_comparison(overall), "margin": rec.margin, "method": overall.method,
            "cases_needed": overall.cases_needed, "outcome": overall.outcome, "segments": segments}


def _cost(rec: Recommendation, focus: CandidateAssessment | None) -> dict[str, Any]:
    cost = focus.cost if focus is not None else None
    production = rec.production_cost.monthly_usd if rec.production_cost is not None else None
    candidate = cost.candidate if cost is not None else None
    return {"production_monthly_usd": _round(production, 2),
            "candidate_monthly_usd": _round(candidate.monthly_usd if candidate else None, 2),
            "saving": _round(cost.saving if cost else None, 3),
            "break_even_requests_per_month": cost.break_even_requests_per_month if cost else None,
            "gpus_needed": candidate.gpus_needed if candidate else None,
            "saving_monthly_usd": _round(cost.saving_usd if cost else None, 2),
            "capacity_lower_bound": candidate.capacity_measured if candidate else None}


def _latency(rec: Recommendation, focus: CandidateAssessment | None) -> dict[str, Any]:
    slo = rec.slo
    return {"production_p95_ms": rec.production_latency.p95_ms,
            "candidate_p95_ms": focus.latency.p95_ms if focus else None,
            "production_ttft_p95_ms": rec.production_latency.ttft_p95_ms,
            "candidate_ttft_p95_ms": focus.latency.ttft_p95_ms if focus else None,
            "slo_p95_ms": slo.p95 if slo else None, "slo_ttft_p95_ms": slo.ttft_p95 if slo else None}


def recommendation_dict(
    rec: Recommendation, *, watch: str, cycle_id: int | None, announcement: Announcement
) -> dict[str, Any]:
    """A recommendation and its announcement as plain JSON data.

    Args:
        rec: The cycle's recommendation.
        watch: The watch's name.
        cycle_id: The cycle's id in the store (None for a recomputation not stored yet).
        announcement: The announced verdict after this cycle (`hysteresis.announce`).

    Returns:
        The issue's shape: `watch`, `cycle_id`, `verdict` (announced), `cycle_verdict`, `to` (announced
        target), `consecutive`, `hysteresis`, `reasons`, `quality`, `cost`, `latency`, `privacy`,
        `candidates`; plus `cycle_to`, `cases_needed`, `production` and `simulated` (the names of the
        simulated models, which every rendering labels as such).
    """
    focus = next((c for c in rec.candidates if c.model == rec.focus), None)
    return {
        "watch": watch, "cycle_id": cycle_id, "verdict": announcement.verdict, "cycle_verdict": rec.cycle_verdict,
        "to": announcement.to, "consecutive": announcement.consecutive, "hysteresis": rec.hysteresis,
        "reasons": list(rec.reasons), "quality": _quality(rec, focus), "cost": _cost(rec, focus),
        "latency": _latency(rec, focus),
        "privacy": {"golden_set_class": rec.golden_set_class, "production_ok": rec.production_privacy.ok,
                    "candidate_ok": focus.privacy.ok if focus else None},
        "candidates": [{"model": c.model, "eligible": c.eligible, "reasons": list(c.reasons),
                        "simulated": c.model in rec.simulated} for c in rec.candidates],
        "cycle_to": rec.to, "cases_needed": rec.cases_needed, "production": rec.production,
        "simulated": list(rec.simulated),
    }
