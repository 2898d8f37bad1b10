"""Replaying through a BatchProvider: one call per run, priced by busy time, split and stopped by the budget.

The provider is scripted (it answers from the case the request carries, as a simulated model would)
and the clock is injected, so busy time, and with it every cost, is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import aclosing
from typing import Any

import pytest

from evals.cases import Case
from evals.cost import Budget, CostModel
from evals.limits.breaker import BudgetExceeded, CircuitBreaker, CircuitOpen
from evals.models import ModelSpec, Pricing
from evals.providers.base import BatchProvider
from evals.providers.openai_chat import OpenAIChatProvider
from evals.replay import replay
from evals.replay_batched import PROBE_BATCH_SIZE
from evals.results import Completion, Request


class Clock:
    """Monotonic seconds that advance only when the scripted provider works."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FromTheCase:
    """Answers each request with its case's expected answer; a call of n requests takes n × `seconds_each`."""

    def __init__(self, clock: Clock, *, seconds_each: float = 1.0, fail: bool = False) -> None:
        self.clock = clock
        self.seconds_each = seconds_each
        self.fail = fail
        self.calls: list[list[str]] = []

    async def complete_batch(self, requests: Sequence[Request]) -> list[Completion]:
        self.calls.append([r.case_id for r in requests])
        self.clock.now += self.seconds_each * len(requests)
        if self.fail:
            return [Completion(case_id=r.case_id, error="engine died", error_kind="server") for r in requests]
        return [Completion(case_id=r.case_id, output=r.case.expected if r.case else None, latency_ms=1000.0)
                for r in requests]

    async def aclose(self) -> None:
        pass


def requests(n: int) -> list[Request]:
    cases = [Case(id=f"c{i}", input=f"q{i}", expected=f"a{i}", tags=("lang:en",)) for i in range(n)]
    return [Request(case_id=c.id, repetition=0, messages=[{"role": "user", "content": str(c.input)}], case=c)
            for c in cases]


def gpu_prices(**pricing: float) -> CostModel:
    """$1 per second of busy time (one GPU at $3600 an hour)."""
    return CostModel.for_spec(ModelSpec(name="gpu", model="m", kind="vllm", hosting="self_hosted",
                                        pricing=Pricing(gpu_hour=3600.0, gpus=1, **pricing)))


async def collect(provider: BatchProvider, todo: list[Request], **options: Any) -> list[list[Completion]]:
    batches: list[list[Completion]] = []
    async with aclosing(replay(todo, provider=provider, max_concurrency=1, **options)) as stream:
        async for batch in stream:
            batches.append(batch)
    return batches


def test_replay_tells_a_batch_provider_from_a_per_request_one() -> None:
    assert isinstance(FromTheCase(Clock()), BatchProvider)
    assert not issubclass(OpenAIChatProvider, BatchProvider)


async def test_without_a_budget_the_whole_run_is_one_call_yielded_in_batches() -> None:
    provider = FromTheCase(Clock())
    # when a run of ten cases is replayed, stored four at a time
    batches = await collect(provider, requests(10), batch_size=4)
    # then the provider saw one call with every case, and answered from the cases it was handed
    assert provider.calls == [[f"c{i}" for i in range(10)]]
    assert [len(b) for b in batches] == [4, 4, 2]
    assert [c.output for b in batches for c in b] == [f"a{i}" for i in range(10)]


async def test_busy_time_is_priced_and_shared_over_the_calls_completions() -> None:
    clock = Clock()
    # when four cases take 4 s of GPU time at $1/s
    batches = await collect(FromTheCase(clock), requests(4), cost=gpu_prices(), clock=clock)
    # then the $4 is shared by latency (all equal here): $1 each
    assert [c.cost_usd for c in batches[0]] == [pytest.approx(1.0)] * 4


async def test_a_budget_splits_the_run_at_the_declared_throughput_and_stops_with_reason_budget() -> None:
    clock = Clock()
    provider = FromTheCase(clock, seconds_each=1.0)
    budget = Budget(2.5)
    # given a declared capacity of 1 request/s at $1/s: every case is estimated at $1, and costs that
    with pytest.raises(BudgetExceeded) as stopped:
        await collect(provider, requests(4), cost=gpu_prices(capacity_rps=1.0), budget=budget, clock=clock)
    # then only the two cases that fit were sent, in one call, and the rest was refused before sending
    assert provider.calls == [["c0", "c1"]]
    assert budget.spent_usd == pytest.approx(2.0) and budget.spent_usd <= budget.limit_usd
    assert str(stopped.value).startswith("budget")


async def test_the_measured_throughput_prices_the_next_call() -> None:
    clock = Clock()
    # given a declared capacity of 1 rps, while the engine really serves 4 rps ($0.25 a case)
    provider = FromTheCase(clock, seconds_each=0.25)
    budget = Budget(2.0)
    batches = await collect(provider, requests(6), cost=gpu_prices(capacity_rps=1.0), budget=budget, clock=clock)
    # then the first call was cut at the declared estimate, the second priced at the measured one
    assert provider.calls == [["c0", "c1"], ["c2", "c3", "c4", "c5"]]
    assert sum(len(b) for b in batches) == 6 and budget.spent_usd == pytest.approx(1.5)


async def test_without_a_known_throughput_a_probe_call_measures_it_first() -> None:
    clock = Clock()
    provider = FromTheCase(clock, seconds_each=0.1)  # $0.10 a case, not declared
    todo = requests(PROBE_BATCH_SIZE + 30)
    budget = Budget(PROBE_BATCH_SIZE * 0.1 + 1.05)
    with pytest.raises(BudgetExceeded):
        await collect(provider, todo, cost=gpu_prices(), budget=budget, clock=clock)
    # the probe spent $1.60 and showed a case costs $0.10, so ten more fit what was left
    assert [len(call) for call in provider.calls] == [PROBE_BATCH_SIZE, 10]
    assert budget.spent_usd <= budget.limit_usd


async def test_no_budget_check_costs_nothing_when_the_budget_is_already_spent() -> None:
    provider = FromTheCase(Clock())
    with pytest.raises(BudgetExceeded):
        await collect(provider, requests(3), cost=gpu_prices(capacity_rps=1.0), budget=Budget(1.0, spent_usd=1.0))
    assert provider.calls == []


async def test_an_open_circuit_stops_further_calls_and_keeps_what_was_answered() -> None:
    clock = Clock()
    provider = FromTheCase(clock, fail=True)
    breaker = CircuitBreaker(window=4, min_completions=2)
    # given a budget that splits the run into calls of two cases, every one of which fails
    with pytest.raises(CircuitOpen, match="circuit open"):
        await collect(provider, requests(6), cost=gpu_prices(capacity_rps=1.0), budget=Budget(2.0),
                      breaker=breaker, clock=clock)
    assert provider.calls == [["c0", "c1"]]


async def test_a_provider_that_loses_answers_is_a_bug_raised() -> None:
    class Short(FromTheCase):
        async def complete_batch(self, requests: Sequence[Request]) -> list[Completion]:
            return (await super().complete_batch(requests))[:-1]

    with pytest.raises(ValueError, match="returned 2 completions for 3 requests"):
        await collect(Short(Clock()), requests(3))
