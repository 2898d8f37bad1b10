"""Prices from the table and from turnout.yaml, self-hosted busy time, and budgets that stop a replay."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from evals.cost import Budget, BusyMeter, CostModel, self_hosted_cost_usd, share_by_busy_time
from evals.models import ModelSpec, Pricing
from evals.replay import BudgetExceeded, replay
from evals.results import Completion, Request


def spec(**fields: Any) -> ModelSpec:
    return ModelSpec(**{"name": "m", "model": "gpt-4o", "base_url": "https://api.openai.com/v1", **fields})


def ask(case_id: str, text: str = "x" * 400) -> Request:
    return Request(case_id=case_id, repetition=0, messages=[{"role": "user", "content": text}])


# -- prices --


def test_an_api_model_is_priced_from_the_table() -> None:
    cost = CostModel.for_spec(spec())

    assert cost.source == "genai-prices: openai/gpt-4o"
    assert cost.token_cost(1_000_000, 0) == pytest.approx(2.5)  # $2.50 / $10 per million (the table's price)
    assert cost.token_cost(1000, 100) == pytest.approx(0.0035)


def test_a_model_is_found_by_name_behind_an_unknown_url() -> None:
    cost = CostModel.for_spec(spec(model="mistral-small-latest", base_url="https://gateway.example.com/v1"))

    assert cost.source == "genai-prices: mistral/mistral-small-latest"
    assert cost.token_cost(1_000_000, 1_000_000) is not None


def test_turnout_yaml_prices_win_over_the_table() -> None:
    cost = CostModel.for_spec(spec(pricing=Pricing(input_per_mtok=1.0, output_per_mtok=4.0)))

    assert cost.source == "turnout.yaml"
    assert cost.token_cost(1000, 100) == pytest.approx(0.0014)


@pytest.mark.parametrize("fields", [
    {"model": "no-such-model-anywhere", "base_url": "http://127.0.0.1:8000/v1"},
    {"model": "gpt-4o", "hosting": "self_hosted"},  # a local model is never billed as an API one
])
def test_unpriced_models_cost_none(fields: dict[str, Any]) -> None:
    cost = CostModel.for_spec(spec(**fields))

    assert cost.source == "unpriced" and cost.token_cost(1000, 100) is None and cost.estimate(ask("c")) == 0


def test_self_hosted_busy_time_is_priced_by_gpu_hours_and_the_fixed_cost() -> None:
    pricing = Pricing(gpu_hour=2.0, gpus=2, fixed_monthly=730.0)

    assert self_hosted_cost_usd(pricing, 1800) == pytest.approx(0.5 * (2.0 * 2 + 730.0 / 730))
    assert self_hosted_cost_usd(Pricing(), 1800) is None
    cost = CostModel.for_spec(spec(hosting="self_hosted", pricing=pricing))
    assert cost.self_hosted and cost.busy_cost(3600) == pytest.approx(5.0) and cost.token_cost(10, 10) is None


def test_the_estimate_uses_prompt_chars_and_max_tokens() -> None:
    cost = CostModel.for_spec(spec(pricing=Pricing(input_per_mtok=1e6, output_per_mtok=2e6),  # $1, $2 per token
                                   params={"max_tokens": 50}))

    assert cost.estimate(ask("c", "x" * 400)) == pytest.approx(100 * 1 + 50 * 2)


# -- busy time --


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_overlapping_calls_share_the_busy_time() -> None:
    clock = Clock()
    meter = BusyMeter(clock)
    a = meter.start()  # t=0
    clock.now = 5
    b = meter.start()
    clock.now = 10
    share_a = meter.finish(a)  # alone 0-5, shared 5-10
    clock.now = 15
    share_b = meter.finish(b)  # shared 5-10, alone 10-15
    clock.now = 100  # idle is not busy
    c = meter.start()
    clock.now = 101
    share_c = meter.finish(c)

    assert (share_a, share_b, share_c) == pytest.approx((7.5, 7.5, 1.0))
    assert meter.busy_s == pytest.approx(16.0) == share_a + share_b + share_c


def test_a_run_cost_is_split_by_busy_share() -> None:
    assert share_by_busy_time(9.0, [1.0, 2.0]) == pytest.approx([3.0, 6.0])
    assert share_by_busy_time(2.0, [0.0, 0.0]) == [1.0, 1.0]


# -- budgets --


def test_a_budget_never_plans_past_its_limit_across_threads() -> None:
    budget = Budget(10.0, spent_usd=2.0)
    granted: list[bool] = []

    def spend() -> None:
        for _ in range(100):
            if budget.reserve(0.05):
                granted.append(True)
                budget.settle(0.05, 0.04)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert budget.spent_usd <= 10.0 and budget.spent_usd == pytest.approx(2.0 + 0.04 * len(granted))
    assert budget.spent_usd > 10.0 - 0.05 - 0.04


class Priced:
    """Answers each request for $1 after a short delay."""

    def __init__(self, delay_s: float = 0.001) -> None:
        self.delay_s = delay_s
        self.calls = 0

    async def complete(self, request: Request) -> Completion:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return Completion(case_id=request.case_id, output="ok", cost_usd=1.0)

    async def aclose(self) -> None:
        return None


async def test_replay_stops_before_the_request_that_would_exceed_the_budget() -> None:
    provider = Priced()
    cost = CostModel(token_price=lambda i, o: 1.0)  # every request is estimated at $1
    budget = Budget(10.5, spent_usd=3.0)
    got: list[Completion] = []

    with pytest.raises(BudgetExceeded) as stopped:
        async for batch in replay([ask(f"c{i}") for i in range(50)], provider=provider, max_concurrency=4,
                                  batch_size=3, budget=budget, cost=cost):
            got.extend(batch)

    assert len(got) == provider.calls == 7  # $3 + 7 × $1 = $10; an 8th would pass $10.50
    assert budget.spent_usd == pytest.approx(10.0)
    reason = str(stopped.value)
    assert reason.startswith("budget: $") and "of the $10.5000 budget" in reason and "about $1.0000" in reason


async def test_self_hosted_completions_carry_their_share_of_the_busy_time() -> None:
    class Slow(Priced):
        async def complete(self, request: Request) -> Completion:
            await asyncio.sleep(0.02)
            return Completion(case_id=request.case_id, output="ok")

    cost = CostModel(busy_usd_per_s=1000.0)  # $1 per busy millisecond, to read it easily
    got = [c async for b in replay([ask(f"c{i}") for i in range(8)], provider=Slow(), max_concurrency=4,
                                   cost=cost) for c in b]

    assert all(c.cost_usd is not None and c.cost_usd > 0 for c in got)
    total = sum(c.cost_usd or 0 for c in got)
    assert 35 <= total <= 100  # two waves of 4 parallel 20 ms calls: about 40 ms of busy time
