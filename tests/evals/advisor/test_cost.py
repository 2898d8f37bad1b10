"""Monthly cost at volume, the saving, and the break-even volume of the GPU staircase."""

from __future__ import annotations

import math

import pytest

from evals.advisor import MonthlyCost, TokenMix, Volume, break_even, compare_costs, monthly_cost
from evals.models import ModelSpec
from tests.evals.advisor.builders import api_spec, gpu_spec

VOLUME = Volume(requests_per_month=2_000_000, peak_rps=20)
MIX = TokenMix(input_tokens=1000, output_tokens=200)


def test_the_issues_example_two_replicas_of_one_gpu() -> None:
    cost = monthly_cost(spec=gpu_spec(), volume=VOLUME, mix=MIX, capacity_rps=12)

    assert cost.replicas == 2 and cost.gpus_needed == 2
    assert cost.monthly_usd == pytest.approx(3635.4)  # 2 × 2.49 × 730
    assert not cost.capacity_measured and cost.note is None


def test_gpus_per_replica_and_the_fixed_cost_add_up() -> None:
    spec = gpu_spec(pricing={"gpu_hour": 2.0, "gpus": 4, "fixed_monthly": 500})

    cost = monthly_cost(spec=spec, volume=Volume(requests_per_month=1e6, peak_rps=24), mix=MIX, capacity_rps=12)

    assert (cost.replicas, cost.gpus_needed) == (2, 8)  # exactly 2 × 12 rps: no third replica
    assert cost.monthly_usd == pytest.approx(8 * 2.0 * 730 + 500)


def test_a_measured_throughput_is_flagged_as_a_lower_bound() -> None:
    cost = monthly_cost(spec=gpu_spec(), volume=VOLUME, mix=MIX, measured_rps=5)

    assert cost.capacity_measured and cost.replicas == 4
    assert cost.note is not None and "lower bound" in cost.note and "pricing.capacity_rps" in cost.note


def test_a_declared_capacity_wins_over_the_measured_one() -> None:
    assert monthly_cost(spec=gpu_spec(), volume=VOLUME, mix=MIX, capacity_rps=12, measured_rps=5).replicas == 2


def test_a_gpu_model_without_any_capacity_cannot_be_priced() -> None:
    cost = monthly_cost(spec=gpu_spec(), volume=VOLUME, mix=MIX)

    assert cost.monthly_usd is None and cost.note is not None and "capacity_rps" in cost.note


def test_an_api_model_costs_requests_times_its_token_mix() -> None:
    cost = monthly_cost(spec=api_spec(), volume=VOLUME, mix=MIX)

    assert cost.per_request_usd == pytest.approx(1000 * 2.5e-6 + 200 * 10e-6)
    assert cost.monthly_usd == pytest.approx(9000.0) and cost.source == "turnout.yaml"


def test_the_volumes_token_counts_override_the_measured_mix() -> None:
    volume = Volume(requests_per_month=1_000_000, peak_rps=5, output_tokens=100)

    assert monthly_cost(spec=api_spec(), volume=volume, mix=MIX).monthly_usd == pytest.approx(1e6 * (0.0025 + 0.001))


def test_without_declared_prices_the_price_table_is_used() -> None:
    spec = ModelSpec(name="gpt", model="gpt-4o", base_url="https://api.openai.com/v1")

    cost = monthly_cost(spec=spec, volume=VOLUME, mix=MIX)

    assert cost.source == "genai-prices: openai/gpt-4o"
    assert cost.monthly_usd == pytest.approx(2e6 * (1000 * 2.5e-6 + 200 * 10e-6))


def test_an_api_model_without_a_mix_or_a_price_says_what_is_missing() -> None:
    no_mix = monthly_cost(spec=api_spec(), volume=VOLUME, mix=None)
    unpriced = monthly_cost(spec=ModelSpec(name="x", model="x", hosting="self_hosted"), volume=VOLUME, mix=MIX)

    assert no_mix.monthly_usd is None and no_mix.note is not None and "input_tokens" in no_mix.note
    assert unpriced.monthly_usd is None and unpriced.note is not None and "declare pricing" in unpriced.note


def test_the_saving_is_a_fraction_of_productions_cost_and_in_money() -> None:
    comparison = compare_costs(production=monthly_cost(spec=api_spec(), volume=VOLUME, mix=MIX),
                               candidate=monthly_cost(spec=gpu_spec(), volume=VOLUME, mix=MIX, capacity_rps=12),
                               volume=VOLUME)

    assert comparison.saving_usd == pytest.approx(9000 - 3635.4)
    assert comparison.saving == pytest.approx((9000 - 3635.4) / 9000)


# -- break-even: the smallest volume from which self-hosting is never dearer --


def _at(cost: MonthlyCost, requests: float, volume: Volume) -> float:
    """Brute force: the cost at `requests`, peak rate scaled with volume."""
    if cost.per_request_usd is not None:
        return cost.per_request_usd * requests
    assert cost.capacity_rps is not None
    replicas = max(1, math.ceil(volume.peak_rps * requests / volume.requests_per_month / cost.capacity_rps - 1e-9))
    return replicas * cost.replica_monthly_usd + cost.fixed_monthly_usd


@pytest.mark.parametrize(("pricing", "capacity", "expected"), [
    ({"gpu_hour": 2.49, "gpus": 1}, 12, 403_934),  # 1,817.70 / 0.0045: inside the first replica's range
    ({"gpu_hour": 2.49, "gpus": 1, "fixed_monthly": 3000}, 12, 1_474_534),  # (2 × 1,817.70 + 3,000) / 0.0045
    ({"gpu_hour": 6.0, "gpus": 1}, 12, 4_866_667),  # 5 × 4,380 / 0.0045: the fifth replica's step
    ({"gpu_hour": 2.0, "gpus": 4}, 12, None),  # a replica costs more than the tokens it serves
])
def test_break_even_is_where_self_hosting_stops_being_dearer(
    pricing: dict[str, float], capacity: float, expected: int | None
) -> None:
    api = monthly_cost(spec=api_spec(), volume=VOLUME, mix=MIX)
    gpu = monthly_cost(spec=gpu_spec(pricing=pricing), volume=VOLUME, mix=MIX, capacity_rps=capacity)

    found = break_even(api, gpu, volume=VOLUME)

    assert found == expected
    assert break_even(gpu, api, volume=VOLUME) == found  # the order of the sides does not matter
    if found is None:
        return
    grid = [found * (1 + k / 50) + 1 for k in range(0, 500)]
    assert all(_at(gpu, r, VOLUME) <= _at(api, r, VOLUME) + 1e-6 for r in grid)
    assert _at(gpu, found - 2, VOLUME) > _at(api, found - 2, VOLUME)


def test_a_cheaper_stretch_below_break_even_does_not_count() -> None:
    # One replica (4,380 USD) serves 1.2M requests: cheaper than the tokens from 973,334 to 1.2M, but the
    # second replica makes it dearer again right after; only from the fifth step on is it cheaper for good.
    api = monthly_cost(spec=api_spec(), volume=VOLUME, mix=MIX)
    gpu = monthly_cost(spec=gpu_spec(pricing={"gpu_hour": 6.0}), volume=VOLUME, mix=MIX, capacity_rps=12)

    found = break_even(api, gpu, volume=VOLUME)

    assert _at(gpu, 1_100_000, VOLUME) < _at(api, 1_100_000, VOLUME)
    assert _at(gpu, 1_200_001, VOLUME) > _at(api, 1_200_001, VOLUME)
    assert found is not None and found > 4 * 1_200_000
    assert all(_at(gpu, found + k * 10_000, VOLUME) <= _at(api, found + k * 10_000, VOLUME) for k in range(2000))


def test_no_break_even_between_two_lines_or_an_unpriced_side() -> None:
    api = monthly_cost(spec=api_spec(), volume=VOLUME, mix=MIX)
    other = monthly_cost(spec=api_spec("cheap", pricing={"input_per_mtok": 1.0}), volume=VOLUME, mix=MIX)
    unpriced = monthly_cost(spec=gpu_spec(), volume=VOLUME, mix=MIX)

    assert break_even(api, other, volume=VOLUME) is None
    assert break_even(api, unpriced, volume=VOLUME) is None


def test_a_fixed_cost_only_breaks_even_where_the_tokens_cost_as_much() -> None:
    api = monthly_cost(spec=api_spec(), volume=VOLUME, mix=MIX)
    fixed = monthly_cost(spec=gpu_spec(pricing={"fixed_monthly": 900}), volume=VOLUME, mix=MIX)

    assert fixed.monthly_usd == 900 and fixed.gpus_needed is None
    assert break_even(api, fixed, volume=VOLUME) == 200_000
