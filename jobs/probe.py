"""The distribution probe's sampling, part of each run's replay step (`drift: {probe: ...}` in the watch).

After a run has answered its cases, the probe sends a fixed choice of them `samples` times each at the
probe's temperature, through the same replay engine, rate limits, budget and circuit breaker as the run
itself, and stores the answers in their own table: they are not completions, never scored and never in
the quality statistics. Samples already stored are skipped, so a re-delivered replay sends only the
rest. A probe cut short by the budget or an open circuit leaves the run finished: the test of the
analysis step uses the samples there are.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import aclosing

from evals.cost import Budget, CostModel
from evals.drift.probe import probe_model
from evals.limits.breaker import CircuitBreaker, ReplayStopped
from evals.prompts import build_messages
from evals.providers.base import AnyProvider
from evals.replay import replay
from evals.results import Completion, Request
from jobs.providers import ProviderUnavailable
from jobs.ratelimit import LimitsHub
from service.storage import probe, runs
from service.storage.db import session_scope
from service.storage.tables import FINAL_STATES, RunRow

log = logging.getLogger(__name__)

PROBE_BATCH_SIZE = 64
"""Samples written per transaction (as a replay's completions)."""


async def replay_probe(plan: runs.ReplayPlan, *, make_provider: Callable[..., AnyProvider], hub: LimitsHub,
                       budget: Budget | None, owner: str | None,
                       progress: Callable[[str, int, int], None] | None = None) -> bool:
    """Sample the probe's prompts for the run of *plan*, when its watch has a probe.

    Returns:
        False when the run was cancelled or its lease passed to another delivery meanwhile (the caller
        stops there); True otherwise, the probe done, cut short, or not configured.
    """
    with session_scope() as session:
        settings = runs.recipe(runs.get_cycle(session, cycle_id=plan.cycle_id)).watch.drift.probe
        todo = [] if settings is None else probe.plan_probe(session, run_id=plan.run_id, settings=settings)
    if settings is None or not todo:
        return True
    spec = probe_model(plan.model, settings)
    cost = CostModel.for_spec(spec)
    try:
        # The run's own limits: the probe's calls count against the model's rpm and tpm like any other.
        provider = make_provider(spec, limits=hub.for_model(plan.model), cost=cost)
    except ProviderUnavailable as exc:
        log.warning("run %s: no probe samples: %s", plan.run_id, exc)
        return True
    case_rows = {item.case.id: item.row_id for item, _ in todo}
    requests = (Request(case_id=item.case.id, repetition=sample, messages=build_messages(item.case, plan.template),
                        case=item.case) for item, sample in todo)
    label, done = f"{plan.model.name} probe", 0
    try:
        async with aclosing(replay(requests, provider=provider, max_concurrency=plan.model.max_concurrency,
                                   batch_size=PROBE_BATCH_SIZE, breaker=CircuitBreaker(), budget=budget,
                                   cost=cost)) as batches:
            async for batch in batches:
                run = await asyncio.to_thread(_store, plan.run_id, case_rows, batch, settings.temperature)
                done += len(batch)
                if progress:
                    progress(label, done, len(todo))
                if run.state in FINAL_STATES or (owner is not None and run.lease_owner != owner):
                    return False
    except ReplayStopped as exc:  # the budget is spent, or the endpoint stopped answering
        log.warning("run %s: the probe stopped after %s of %s samples: %s", plan.run_id, done, len(todo), exc)
    finally:
        await provider.aclose()
    return True


def _store(run_id: int, case_rows: dict[str, int], batch: list[Completion], temperature: float) -> RunRow:
    with session_scope() as session:
        probe.save_probe_samples(session, run_id=run_id, case_rows=case_rows, completions=batch,
                                 temperature=temperature)
        return runs.refresh_run_counts(session, run_id=run_id)
