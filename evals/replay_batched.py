"""Replay through a `BatchProvider`: the whole run in one call, split only where the budget says so.

With no budget, or prices that cost nothing before the fact, every request goes in one
`complete_batch` call, which an engine such as vLLM batches continuously. With a budget, the
requests of the next call are the longest prefix whose estimates fit what is left: a self-hosted
model's estimate is one request's busy time at its throughput (`pricing.capacity_rps`, replaced by
the throughput measured on the run's previous calls). A self-hosted model with a budget and no
known throughput is sent a probe of `PROBE_BATCH_SIZE` requests first, whose measured throughput
prices the rest. The circuit breaker and the budget are consulted before each call; a call's
completions are yielded `batch_size` at a time in the requests' order. `evals.replay.replay`
calls this for a `BatchProvider`; call that rather than this.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence

from evals.cost import Budget, CostModel, share_by_busy_time
from evals.limits.breaker import BudgetExceeded, CircuitBreaker, CircuitOpen, ReplayStopped
from evals.providers.base import BatchProvider
from evals.results import Completion, Request

PROBE_BATCH_SIZE = 16
"""Requests sent first to a self-hosted model with a budget and no declared `capacity_rps`: small
enough that an unpriced call spends little, large enough that the engine batches and its throughput
means something. Declare `pricing.capacity_rps` to price the first call too."""


async def replay_batched(
    requests: Iterable[Request],
    *,
    provider: BatchProvider,
    batch_size: int,
    breaker: CircuitBreaker | None,
    budget: Budget | None,
    cost: CostModel | None,
    clock: Callable[[], float],
) -> AsyncGenerator[list[Completion], None]:
    """Answer every request through `provider.complete_batch`, as few calls as the budget allows.

    Args:
        requests: The calls to make; read at once.
        provider: The model.
        batch_size: Completions per yielded list.
        breaker: Stops sending further calls when too many recent cases failed; None never stops.
        budget: Reserved for each call's requests before it is sent; settled with their `cost_usd`.
        cost: The model's prices: the estimates, and the busy-time price of each call's wall time.
        clock: Monotonic seconds.

    Yields:
        Lists of completions, in the requests' order.

    Raises:
        CircuitOpen: After the last batch, when the breaker opened with requests left to send.
        BudgetExceeded: After the last batch, when the next request would not fit the budget.
        ValueError: If the provider returned another number of completions than it was sent.
    """
    todo = list(requests)
    sent = 0
    stop: ReplayStopped | None = None
    while sent < len(todo):
        chunk, estimates = _next_call(todo[sent:], budget=budget, cost=cost)
        if not chunk:
            assert budget is not None  # only a budget refuses a call
            stop = BudgetExceeded(budget.describe(estimates[0]))
            break
        started = clock()
        try:
            completions = await provider.complete_batch(chunk)
        except BaseException:
            if budget is not None:
                budget.settle(sum(estimates), None)
            raise
        busy_s = clock() - started
        if len(completions) != len(chunk):
            raise ValueError(f"batch provider returned {len(completions)} completions for {len(chunk)} requests")
        if cost is not None and cost.self_hosted:
            completions = _priced(completions, cost, busy_s)
            if busy_s > 0:
                cost = cost.with_throughput(len(chunk) / busy_s)
        if budget is not None:
            budget.settle(sum(estimates), sum(c.cost_usd or 0.0 for c in completions))
        sent += len(chunk)
        for start in range(0, len(completions), batch_size):
            yield completions[start:start + batch_size]
        if breaker is not None and sent < len(todo):
            reasons = [reason for c in completions if (reason := breaker.record(c)) is not None]
            if reasons:
                stop = CircuitOpen(reasons[-1])
                break
    if stop is not None:
        raise stop


def _next_call(rest: Sequence[Request], *, budget: Budget | None,
               cost: CostModel | None) -> tuple[list[Request], list[float]]:
    """The requests of the next call and their reserved estimates; no requests when none fits."""
    if budget is None:
        return list(rest), [0.0] * len(rest)
    if cost is not None and cost.self_hosted and cost.busy_s_per_request is None:
        rest = rest[:PROBE_BATCH_SIZE]  # unpriced until measured: probe the throughput first
    estimates = [cost.estimate(r) for r in rest] if cost is not None else [0.0] * len(rest)
    taken = budget.reserve_many(estimates)
    return list(rest[:taken]), estimates[:taken] if taken else estimates[:1]


def _priced(completions: list[Completion], cost: CostModel, busy_s: float) -> list[Completion]:
    """The call's busy time priced and shared over its completions by their latency."""
    total = cost.busy_cost(busy_s)
    if total is None:
        return completions
    shares = share_by_busy_time(total, [c.latency_ms or 1.0 for c in completions])
    return [c if c.cost_usd is not None else dataclasses.replace(c, cost_usd=share)
            for c, share in zip(completions, shares, strict=True)]
