"""The break-even chart: monthly cost against requests a month, per model of a cycle.

Each point is `evals.advisor.cost.monthly_cost` at that volume, with the token mix and throughput
the cycle measured (`service.storage.advice.run_facts`) and the peak rate scaled with the volume,
so the lines cross where the advisor's break-even volume says they do.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from evals.advisor.cost import TokenMix, monthly_cost
from evals.advisor.policy import AdvisorPolicy, Volume
from evals.models import ModelSpec
from service.storage import advice, runs
from service.storage.public import RecommendationPublic

POINTS = 48
"""Volumes drawn per line: enough for a GPU side's staircase to show its steps."""


def break_even_chart(session: Session, *, recommendation: RecommendationPublic) -> dict[str, Any] | None:
    """`{x, series: [{label, values}], declared, break_even}` for the recommendation's cycle, or None
    when the policy declares no volume (there is nothing to project then)."""
    policy = AdvisorPolicy.model_validate(recommendation.inputs.get("policy") or {})
    if policy.volume is None:
        return None
    declared = policy.volume
    break_even = (recommendation.document.get("cost") or {}).get("break_even_requests_per_month")
    top = max(declared.requests_per_month * 2, (break_even or 0) * 1.5)
    volumes = [top * (i + 1) / POINTS for i in range(POINTS)]
    cycle_runs = runs.cycle_runs(session, cycle_id=recommendation.cycle_id)
    names = runs.model_names(session, cycle_runs)
    series = []
    for run in cycle_runs:
        spec = ModelSpec.model_validate(run.model_spec)
        facts = advice.run_facts(session, run=run)
        mix = (TokenMix(input_tokens=facts.input_tokens, output_tokens=facts.output_tokens)
               if facts.input_tokens is not None and facts.output_tokens is not None else None)
        values = []
        for requests in volumes:
            peak = declared.peak_rps * requests / declared.requests_per_month
            volume = Volume(requests_per_month=requests, peak_rps=peak, input_tokens=declared.input_tokens,
                            output_tokens=declared.output_tokens)
            cost = monthly_cost(spec=spec, volume=volume, mix=mix, capacity_rps=spec.pricing.capacity_rps,
                                measured_rps=facts.measured_rps)
            values.append(None if cost.monthly_usd is None else round(cost.monthly_usd, 2))
        series.append({"label": f"{names[run.model_id]} ({run.role})", "values": values})
    return {"x": [round(v) for v in volumes], "series": series, "declared": declared.requests_per_month,
            "break_even": break_even}
