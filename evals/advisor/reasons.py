"""The advisor's sentences about failures, cost and the grounds for a switch, with their numbers."""

from __future__ import annotations

from collections.abc import Sequence

from evals.advisor.cost import CostComparison, MonthlyCost
from evals.advisor.evidence import ModelEvidence
from evals.advisor.policy import AdvisorPolicy
from evals.advisor.quality import CandidateQuality, QualityAssessment, fmt


def pct(fraction: float | None) -> str:
    """A fraction as a percentage with one decimal, e.g. `60.5 %`; `n/a` for None."""
    return "n/a" if fraction is None else f"{fraction * 100:.1f} %".replace("-", "−")


def usd(amount: float) -> str:
    """Money as `3,635.40 USD`."""
    return f"{amount:,.2f} USD".replace("-", "−")


def failure_reasons(model: ModelEvidence, quality: CandidateQuality | None) -> list[str]:
    """How many cases a model could not answer and why, overall and per segment."""
    window = model.spec.context_window
    lines = []
    if model.failures.total:
        of = f" of {quality.overall.n_pairs} paired" if quality is not None else ""
        lines.append(f"failed {model.failures.total}{of} cases: {model.failures.describe(window)}; "
                     f"each counts as a failure in its pair")
    for segment, counts in model.segment_failures.items():
        if not counts.total:
            continue
        evidence = quality.segments.get(segment) if quality is not None else None
        of = f" of {evidence.n_pairs}" if evidence is not None else ""
        lines.append(f"{segment}: failed {counts.total}{of} cases: {counts.describe(window)}")
    return lines


def _deployment(cost: MonthlyCost) -> str:
    if cost.replicas is None or cost.capacity_rps is None:
        return ""
    fixed = f" + {usd(cost.fixed_monthly_usd)} fixed" if cost.fixed_monthly_usd else ""
    return (f": {cost.replicas} replica(s) at {cost.capacity_rps:,.2f} rps for the peak, {cost.gpus_needed} GPU(s), "
            f"{usd(cost.replica_monthly_usd)} a replica{fixed}")


def cost_reasons(cost: CostComparison, *, requests_per_month: float) -> list[str]:
    """The monthly costs, the saving and the break-even volume as sentences."""
    lines = [cost.candidate.note] if cost.candidate.note else []
    prod, cand = cost.production.monthly_usd, cost.candidate.monthly_usd
    if prod is None or cand is None:
        lines.append("cost not compared: a side has no monthly cost, so no switch is advised for cost")
        return lines
    lines.append(f"at {requests_per_month:,.0f} requests a month: production {usd(prod)} ({cost.production.source}), "
                 f"candidate {usd(cand)} ({cost.candidate.source}{_deployment(cost.candidate)})")
    if cost.saving_usd is not None:
        if cost.saving_usd >= 0:
            lines.append(f"saving {pct(cost.saving)} ({usd(cost.saving_usd)} a month)")
        else:
            lines.append(f"costs {pct(None if cost.saving is None else -cost.saving)} more "
                         f"({usd(-cost.saving_usd)} a month)")
    mixed = (cost.production.per_request_usd is None) != (cost.candidate.per_request_usd is None)
    if cost.break_even_requests_per_month is not None:
        lines.append(f"break-even at {cost.break_even_requests_per_month:,} requests a month (peak rate scaled with "
                     f"volume): from there on self-hosting is never dearer")
    elif mixed:
        lines.append("no break-even: at no volume does self-hosting stay cheaper than the token price")
    return lines


def grounds_reasons(
    *,
    grounds: Sequence[str],
    quality: QualityAssessment,
    cost: CostComparison | None,
    policy: AdvisorPolicy,
    ci_low: float | None,
    eligible: bool,
    volume: bool,
) -> list[str]:
    """Which reasons to move hold, and which do not and why."""
    saving = None if cost is None else cost.saving
    lines = []
    if "privacy" in grounds:
        lines.append("production does not qualify for privacy: moving here is advisable for privacy, whatever the cost")
    if "cost" in grounds:
        lines.append(f"a switch for cost: saving {pct(saving)} is at least policy.min_saving {pct(policy.min_saving)}")
    elif saving is not None and 0 <= saving:
        lines.append(f"saving {pct(saving)} is below policy.min_saving {pct(policy.min_saving)}: no switch for cost")
    elif saving is not None:
        lines.append(f"costs more than production: advisable only for privacy (production does not qualify) or for "
                     f"provably better quality within policy.max_cost_increase {pct(policy.max_cost_increase)}")
    if "quality" in grounds:
        extra = max(0.0, -(saving or 0.0))
        lines.append(f"a switch for quality: provably better (lower bound {fmt(ci_low)} > 0) at an extra cost of "
                     f"{pct(extra)}, within policy.max_cost_increase {pct(policy.max_cost_increase)}")
    elif quality.superior and saving is None:
        lines.append("provably better, but its extra cost is unknown, so policy.max_cost_increase cannot be checked")
    elif quality.superior and saving is not None and saving < 0:
        lines.append(f"provably better, but its extra cost {pct(-saving)} exceeds policy.max_cost_increase "
                     f"{pct(policy.max_cost_increase)}")
    if eligible and not grounds:
        lines.append("eligible, but there is no reason to move: production qualifies, the saving is not enough"
                     + ("" if volume else " (no volume declared)") + ", and it is not provably better at no extra cost")
    if quality.status == "insufficient" and not grounds:
        lines.append("more pairs would not change the verdict: even non-inferior it would not be advised")
    return lines

