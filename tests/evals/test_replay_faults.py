"""Replay under faults, over real HTTP: rate limits slow it down, hangs are cut, and runs stop when they must."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from evals.cost import Budget, CostModel
from evals.limits import AdaptiveConcurrency, LocalRateLimiter, ModelLimits
from evals.models import ModelSpec, Pricing
from evals.providers.openai_chat import OpenAIChatProvider
from evals.replay import BudgetExceeded, CircuitBreaker, CircuitOpen, replay
from evals.results import Completion, Request
from tests.peers.openai_peer import OpenAIPeer

TIME_SCALE = 0.02
"""Injected sleeps wait this fraction of what they were asked: a 1 s Retry-After takes 20 ms."""


class ScaledSleeps(list[float]):
    """Records every wait asked for and really waits a scaled-down time, so ordering stays realistic."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)
        await asyncio.sleep(delay * TIME_SCALE)


def ask(i: int, text: str | None = None) -> Request:
    return Request(case_id=f"c{i}", repetition=0,
                   messages=[{"role": "user", "content": text or f"question {i}\nANSWER: a{i}"}])


@pytest.fixture
def faulty() -> Iterator[OpenAIPeer]:
    # 10 % each of 429 (Retry-After: 1), 500, a hang and a malformed body.
    with OpenAIPeer(fault_rate=0.4, fault_kinds=["429", "500", "hang", "malformed"], seed=7, hang_s=30.0,
                    retry_after="1") as peer:
        yield peer


async def test_a_run_under_faults_completes_slowed_by_429s_with_hangs_cut(faulty: OpenAIPeer) -> None:
    spec = ModelSpec(name="flaky", base_url=faulty.base_url, model="peer-model", max_concurrency=32,
                     timeout_s=1.0, max_retries=10)
    backoffs, pauses = ScaledSleeps(), ScaledSleeps()
    limiter = LocalRateLimiter(sleep=pauses)
    limits = ModelLimits(concurrency=AdaptiveConcurrency(32, min_concurrency=4), limiter=limiter)
    provider = OpenAIChatProvider(spec, api_key=None, sleep=backoffs, limits=limits)
    requests = [ask(i) for i in range(200)]
    started = time.monotonic()

    try:
        batches = [b async for b in replay(requests, provider=provider, max_concurrency=32, batch_size=16,
                                           breaker=CircuitBreaker())]
    finally:
        await provider.aclose()
    elapsed = time.monotonic() - started

    got = [c for b in batches for c in b]
    # every case has exactly one final completion
    assert sorted(c.case_id for c in got) == sorted(r.case_id for r in requests)
    # every attempt is counted on its completion: one HTTP request per attempt
    assert sum(c.attempts for c in got) == len(faulty.requests)
    assert any(c.ok and c.attempts > 1 for c in got)
    # the 429s slowed the run down instead of failing cases: a shared pause, and a smaller cap
    assert not [c for c in got if c.error_kind == "rate_limit"]
    assert limits.outcomes["rate_limit"] > 0
    assert limiter.pauses and set(limiter.pauses) == {1.0} and limiter.waited_s > 0
    assert 1.0 > max(pauses) > 0.9  # senders waited out the rest of the Retry-After in the limiter
    assert limits.concurrency.cuts >= 1 and limits.concurrency.lowest < 32
    # hung requests were cut at the 1 s timeout (the peer would have hung 30 s) and retried
    assert limits.outcomes["timeout"] > 0 and elapsed < faulty.hang_s
    # what failed for good is what must not be retried: a malformed body, after one attempt
    failed = [c for c in got if not c.ok]
    assert {c.error_kind for c in failed} <= {"bad_response"} and len(failed) < 60
    assert all(c.error is not None and c.error.startswith("malformed response") for c in failed)
    assert all(c.output == f"a{c.case_id[1:]}" for c in got if c.ok)


async def test_the_circuit_opens_on_a_failing_endpoint_and_keeps_what_it_has() -> None:
    with OpenAIPeer(fault_rate=0.8, fault_kinds=["500"], seed=3) as peer:
        spec = ModelSpec(name="down", base_url=peer.base_url, model="peer-model", max_retries=0, max_concurrency=4)
        provider = OpenAIChatProvider(spec, api_key=None)
        got: list[Completion] = []
        with pytest.raises(CircuitOpen) as opened:
            async for batch in replay([ask(i) for i in range(500)], provider=provider, max_concurrency=4,
                                      batch_size=8, breaker=CircuitBreaker(window=50, min_completions=20)):
                got.extend(batch)
        await provider.aclose()

    assert 20 <= len(got) < 60 and len({c.case_id for c in got}) == len(got)
    assert len(peer.requests) < 70  # it stopped sending
    reason = str(opened.value)
    assert reason.startswith("circuit open: ") and "most often server" in reason and "HTTP 500" in reason


async def test_the_budget_stops_a_priced_run_over_real_http() -> None:
    pricing = Pricing(input_per_mtok=1e4, output_per_mtok=1e4)  # one cent a token, so a call costs cents
    with OpenAIPeer() as peer:
        spec = ModelSpec(name="priced", base_url=peer.base_url, model="peer-model", pricing=pricing,
                         params={"max_tokens": 5}, max_concurrency=4)
        cost = CostModel.for_spec(spec)
        provider = OpenAIChatProvider(spec, api_key=None, cost=cost)
        budget = Budget(1.0)
        got: list[Completion] = []
        with pytest.raises(BudgetExceeded):
            async for batch in replay([ask(i) for i in range(100)], provider=provider, max_concurrency=4,
                                      budget=budget, cost=cost):
                got.extend(batch)
        await provider.aclose()

    spent = sum(c.cost_usd or 0 for c in got)
    assert 0 < len(got) == len(peer.requests) < 100
    assert spent == pytest.approx(budget.spent_usd) and spent <= 1.0
