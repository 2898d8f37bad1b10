"""Monthly cost at the team's volume, the saving of a switch, and the break-even volume.

API (token-priced) models cost `requests × (mean input tokens × input price + mean output tokens
× output price)`: the declared price, else the genai-prices table (`evals.cost.CostModel`).
Self-hosted models cost `replicas × gpus × gpu_hour × 730 + fixed_monthly`, where `replicas =
ceil(peak_rps / capacity_rps)`: the declared capacity, else the throughput measured in the cycle,
which is a lower bound (a replay rarely saturates a server), so that cost is an upper bound.

Break-even: with `peak_rps` scaling with requests per month, a token-priced side costs `a × R`
(a straight line) and a GPU side `g × ceil(R / Rr) + f` (a staircase: one replica of cost `g` per
`Rr` requests a month). The break-even volume is the smallest `R` from which on the GPU side is
never more expensive than the token side; above it self-hosting pays at every volume, below it
the API is cheaper at least somewhere. None when the GPU side never stays cheaper (`a × Rr ≤ g`),
or when both sides are priced alike (both lines or both staircases).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evals.advisor.policy import Volume
from evals.cost import HOURS_PER_MONTH, CostModel
from evals.models import ModelSpec

_EPS = 1e-9
"""Float slack so that 24 rps at a capacity of 12 needs 2 replicas, not 3."""


@dataclass(frozen=True)
class TokenMix:
    """Mean tokens per request, measured on the cycle's completions."""

    input_tokens: float
    """Mean prompt tokens per request."""
    output_tokens: float
    """Mean completion tokens per request."""


@dataclass(frozen=True)
class MonthlyCost:
    """What one model costs a month at the declared volume."""

    model: str
    """The model's name."""
    monthly_usd: float | None
    """USD a month; None when it cannot be priced (see `note`)."""
    source: str
    """Where the price came from: `turnout.yaml`, `genai-prices: provider/model`, `self-hosted`, `unpriced`."""
    per_request_usd: float | None = None
    """Token-priced models: USD per request at the token mix."""
    replica_monthly_usd: float = 0.0
    """Self-hosted: USD a month for one replica (`gpus × gpu_hour × 730`)."""
    fixed_monthly_usd: float = 0.0
    """Self-hosted: fixed USD a month."""
    capacity_rps: float | None = None
    """Self-hosted: requests per second one replica serves."""
    capacity_measured: bool = False
    """True when the capacity is the throughput measured in the cycle: a lower bound."""
    replicas: int | None = None
    """Self-hosted: replicas needed for `peak_rps`."""
    gpus_needed: int | None = None
    """Self-hosted: `replicas × gpus`."""
    note: str | None = None
    """Why the cost is unknown, or how it was estimated, as a sentence without the model's name (the advisor
    puts it in front)."""


@dataclass(frozen=True)
class CostComparison:
    """Candidate against production at the declared volume."""

    production: MonthlyCost
    """Production's monthly cost."""
    candidate: MonthlyCost
    """The candidate's monthly cost."""
    saving: float | None
    """`(production − candidate) / production`; negative when the candidate costs more."""
    saving_usd: float | None
    """`production − candidate`, USD a month."""
    break_even_requests_per_month: int | None
    """Volume from which the self-hosted side is never dearer (see the module); None without one."""


def replicas_needed(peak_rps: float, capacity_rps: float) -> int:
    """Replicas that serve `peak_rps` at `capacity_rps` each (at least one)."""
    return max(1, math.ceil(peak_rps / capacity_rps - _EPS))


def monthly_cost(
    *,
    spec: ModelSpec,
    volume: Volume,
    mix: TokenMix | None,
    capacity_rps: float | None = None,
    measured_rps: float | None = None,
) -> MonthlyCost:
    """Project one model's monthly cost at `volume`.

    Args:
        spec: The model, with its `pricing`.
        volume: Requests a month, peak rate, and optional token overrides.
        mix: Mean tokens per request measured in the cycle (`volume`'s tokens win).
        capacity_rps: Declared requests per second per replica (`pricing.capacity_rps`).
        measured_rps: Throughput measured in the cycle, used without a declared capacity.

    Returns:
        The cost; `monthly_usd` is None with a `note` when a price, a mix or a capacity is missing.
    """
    prices = CostModel.for_spec(spec)
    if prices.token_price is not None:
        tokens_in = volume.input_tokens if volume.input_tokens is not None else mix.input_tokens if mix else None
        tokens_out = volume.output_tokens if volume.output_tokens is not None else mix.output_tokens if mix else None
        if tokens_in is None or tokens_out is None:
            return MonthlyCost(model=spec.name, monthly_usd=None, source=prices.source,
                               note="no token mix was measured; set policy.volume.input_tokens "
                                    "and output_tokens")
        per_request = prices.token_price(round(tokens_in), round(tokens_out))
        return MonthlyCost(model=spec.name, monthly_usd=per_request * volume.requests_per_month,
                           source=prices.source, per_request_usd=per_request)
    pricing = spec.pricing
    if not prices.self_hosted:
        return MonthlyCost(model=spec.name, monthly_usd=None, source=prices.source,
                           note="has no price: declare pricing (input_per_mtok/output_per_mtok, "
                                "or gpu_hour and gpus) in turnout.yaml")
    replica = (pricing.gpu_hour or 0.0) * (pricing.gpus or 1) * HOURS_PER_MONTH
    fixed = pricing.fixed_monthly or 0.0
    if pricing.gpu_hour is None:  # a fixed monthly cost only: no GPUs to count
        return MonthlyCost(model=spec.name, monthly_usd=fixed, source=prices.source, fixed_monthly_usd=fixed)
    capacity, measured = (capacity_rps, False) if capacity_rps is not None else (measured_rps, True)
    if capacity is None or capacity <= 0:
        return MonthlyCost(model=spec.name, monthly_usd=None, source=prices.source, replica_monthly_usd=replica,
                           fixed_monthly_usd=fixed,
                           note="no capacity is declared (pricing.capacity_rps) and no "
                                "throughput was measured, so its GPUs cannot be counted")
    replicas = replicas_needed(volume.peak_rps, capacity)
    gpus = replicas * (pricing.gpus or 1)
    note = (f"capacity {capacity:,.2f} rps per replica is the throughput measured in the cycle, a "
            f"lower bound, so its cost is an upper bound; declare pricing.capacity_rps" if measured else None)
    return MonthlyCost(model=spec.name, monthly_usd=replicas * replica + fixed, source=prices.source,
                       replica_monthly_usd=replica, fixed_monthly_usd=fixed, capacity_rps=capacity,
                       capacity_measured=measured, replicas=replicas, gpus_needed=gpus, note=note)


def compare_costs(*, production: MonthlyCost, candidate: MonthlyCost, volume: Volume) -> CostComparison:
    """The saving of moving from `production` to `candidate`, and the break-even volume."""
    saving = saving_usd = None
    if production.monthly_usd is not None and candidate.monthly_usd is not None:
        saving_usd = production.monthly_usd - candidate.monthly_usd
        saving = saving_usd / production.monthly_usd if production.monthly_usd > 0 else None
    return CostComparison(production=production, candidate=candidate, saving=saving, saving_usd=saving_usd,
                          break_even_requests_per_month=break_even(production, candidate, volume=volume))


def break_even(first: MonthlyCost, second: MonthlyCost, *, volume: Volume) -> int | None:
    """The volume (requests a month, rounded up) from which the self-hosted side is never dearer.

    Args:
        first: One side's cost at `volume`.
        second: The other side's.
        volume: The volume both were projected at; `peak_rps` scales with requests a month.

    Returns:
        The break-even volume, or None when one side is unpriced, both are priced alike, or
        self-hosting never stays cheaper.
    """
    if first.monthly_usd is None or second.monthly_usd is None:
        return None
    if (first.per_request_usd is None) == (second.per_request_usd is None):
        return None
    line, stairs = (first, second) if first.per_request_usd is not None else (second, first)
    a, g, f = line.per_request_usd or 0.0, stairs.replica_monthly_usd, stairs.fixed_monthly_usd
    if a <= 0:
        return None
    if g == 0:
        return math.ceil(f / a - _EPS)
    if stairs.capacity_rps is None:
        return None
    per_replica = stairs.capacity_rps * volume.requests_per_month / volume.peak_rps  # Rr
    if a * per_replica <= g:
        return None
    # From n0 replicas on, every step is cheaper from its first request: a·(n−1)·Rr ≥ n·g + f.
    n0 = max(1, math.ceil((a * per_replica + f) / (a * per_replica - g) - _EPS))
    steps = n0 - 1
    if steps == 0:
        return 0
    within = (steps * g + f) / a  # where the line crosses the step before n0, if it does
    return math.ceil(min(within, steps * per_replica) - _EPS)
