"""Replay a golden set against one provider, of either kind, and yield its completions in batches.

A `Provider` (one request per call, over HTTP) is driven by a bounded worker pool; a
`BatchProvider` (an in-process engine, a simulator) gets the whole run in one call, unless the
budget splits it. Both share everything else: self-hosted busy time priced into `cost_usd`, the
budget consulted before sending, the circuit breaker, and completions yielded `batch_size` at a time.

A run can stop early, and says why by raising a `ReplayStopped` after yielding every completion
it has: `CircuitOpen` when too many recent cases failed (calls in flight are abandoned),
`BudgetExceeded` when the next request would take the spend past the budget (calls in flight,
already paid for, are finished and yielded first).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from contextlib import aclosing

from evals.cost import Budget, BusyMeter, CostModel
from evals.limits.breaker import BudgetExceeded, CircuitBreaker, CircuitOpen, ReplayStopped
from evals.providers.base import AnyProvider, BatchProvider, Provider
from evals.replay_batched import replay_batched
from evals.results import Completion, Request

__all__ = ["BudgetExceeded", "CircuitBreaker", "CircuitOpen", "ReplayStopped", "replay"]

_Item = Completion | BaseException | None
"""What a worker reports: a completion, the exception that stopped it, or None when it ran dry."""


class _Run:
    """What the workers of one replay share."""

    def __init__(self, provider: Provider, budget: Budget | None, cost: CostModel | None,
                 clock: Callable[[], float]) -> None:
        self.provider = provider
        self.budget = budget
        self.cost = cost
        self.meter = BusyMeter(clock) if cost is not None and cost.self_hosted else None
        self.out: asyncio.Queue[_Item] = asyncio.Queue()
        self.stop: ReplayStopped | None = None

    async def call(self, request: Request) -> Completion:
        """One request through the provider, priced by busy time when the model is self-hosted."""
        if self.meter is None or self.cost is None:
            return await self.provider.complete(request)
        mark = self.meter.start()
        try:
            completion = await self.provider.complete(request)
        finally:
            share = self.meter.finish(mark)
        if completion.cost_usd is None:
            completion = dataclasses.replace(completion, cost_usd=self.cost.busy_cost(share))
        return completion


async def _work(requests: Iterator[Request], run: _Run) -> None:
    """Pull requests from the shared iterator until it is empty or the run stops, one call at a time."""
    try:
        while run.stop is None:
            request = next(requests, None)
            if request is None:
                break
            if run.budget is None:
                run.out.put_nowait(await run.call(request))
                continue
            estimate = run.cost.estimate(request) if run.cost is not None else 0.0
            if not run.budget.reserve(estimate):
                run.stop = run.stop or BudgetExceeded(run.budget.describe(estimate))
                break
            try:
                completion = await run.call(request)
            except BaseException:
                run.budget.settle(estimate, None)
                raise
            run.budget.settle(estimate, completion.cost_usd)
            run.out.put_nowait(completion)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a provider bug or a bad case: re-raised by replay
        run.out.put_nowait(exc)
        return
    run.out.put_nowait(None)


async def replay(
    requests: Iterable[Request],
    *,
    provider: AnyProvider,
    max_concurrency: int,
    batch_size: int = 64,
    flush_interval_s: float = 0.5,
    breaker: CircuitBreaker | None = None,
    budget: Budget | None = None,
    cost: CostModel | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> AsyncGenerator[list[Completion], None]:
    """Call the provider for every request: at most `max_concurrency` at once, or in one batch.

    For a `Provider`, requests are pulled lazily by `max_concurrency` workers, so a 100k-case set
    never holds 100k tasks, and completions are yielded in completion order. A `BatchProvider`
    gets every request in one `complete_batch` call, split only where the budget would be passed
    (see `evals.replay_batched`); its completions are yielded in the requests' order. Either way
    completions come in batches, so the caller can store each batch as it finishes. Close the
    generator (e.g. `contextlib.aclosing`) to stop early: calls in flight are cancelled and
    awaited before `aclose()` returns.

    Args:
        requests: The calls to make; consumed lazily by a `Provider`, all at once by a `BatchProvider`.
        provider: The model; it retries and turns per-case failures into Completions.
        max_concurrency: Calls in flight at once (at least 1); a `BatchProvider` batches instead.
        batch_size: Yield once this many completions are waiting.
        flush_interval_s: Yield what is waiting once this long has passed since the last yield.
        breaker: Stops the run when too many recent cases failed; None never stops.
        budget: Consulted before each request (each batch) with `cost.estimate(request)`; settled
            with each completion's `cost_usd`.
        cost: The model's prices: estimates for the budget, and the busy-time price that fills
            `cost_usd` of a self-hosted model's completions.
        clock: Monotonic seconds, for busy time.

    Yields:
        Lists of completions; every request sent appears exactly once across all batches.

    Raises:
        CircuitOpen: After the last batch, when the breaker opened.
        BudgetExceeded: After the last batch, when the budget would have been exceeded.
        ValueError: If `max_concurrency` or `batch_size` is below 1.
        Exception: Whatever the provider or the request iterator raised (a bug, not a case failure).
    """
    if max_concurrency < 1 or batch_size < 1:
        raise ValueError("max_concurrency and batch_size must be at least 1")
    if isinstance(provider, BatchProvider):
        async with aclosing(replay_batched(requests, provider=provider, batch_size=batch_size, breaker=breaker,
                                           budget=budget, cost=cost, clock=clock)) as batches:
            async for ready in batches:
                yield ready
        return
    loop = asyncio.get_running_loop()
    run = _Run(provider, budget, cost, clock)
    shared = iter(requests)
    workers = [asyncio.create_task(_work(shared, run)) for _ in range(max_concurrency)]
    running = len(workers)
    batch: list[Completion] = []
    last_flush = loop.time()
    try:
        while running:
            # With nothing waiting there is nothing to flush, so wait for the next completion.
            wait = max(0.0, last_flush + flush_interval_s - loop.time()) if batch else None
            try:
                item = await asyncio.wait_for(run.out.get(), wait)
            except TimeoutError:
                pass  # time to flush what is waiting
            else:
                if item is None:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    batch.append(item)
                    if breaker is not None and (reason := breaker.record(item)) is not None:
                        run.stop = CircuitOpen(reason)
                        break
            if batch and (len(batch) >= batch_size or loop.time() - last_flush >= flush_interval_s):
                ready, batch = batch, []
                yield ready
                last_flush = loop.time()
        if isinstance(run.stop, CircuitOpen):
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            while not run.out.empty():  # answers that arrived while the circuit opened are kept
                item = run.out.get_nowait()
                if isinstance(item, Completion):
                    batch.append(item)
        if batch:
            yield batch
        if run.stop is not None:
            raise run.stop
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
