"""The pipeline steps as plain functions: `turnout run` calls them inline, Celery tasks call the same.

Each step reads what is left to do from the store, calls `evals`, and writes each batch as it
finishes, so running a step twice (a retry, a re-delivered message) does no work twice.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from dataclasses import replace
from datetime import datetime
from typing import cast

from evals.cost import Budget, CostModel, share_by_busy_time
from evals.limits.breaker import CircuitBreaker, ReplayStopped
from evals.models import ModelSpec
from evals.prompts import build_messages
from evals.providers.base import Provider
from evals.replay import replay
from evals.results import Completion, FailureKind, Request, Score
from evals.scoring.apply import score_completion
from evals.scoring.context import ScorerContext
from evals.scoring.registry import ScorerSpec
from jobs.providers import ProviderUnavailable, provider_for
from jobs.ratelimit import LimitsHub
from jobs.scoring_context import scorer_context
from service.settings import IN_PROCESS_BROKER, get_settings
from service.storage import leases, results, runs
from service.storage.db import StoreUnavailable, session_scope
from service.storage.tables import FINAL_STATES, RunRow

REPLAY_BATCH_SIZE = 64
"""Completions written per transaction: large enough that a write costs little per case, small
enough that a crash loses at most a few seconds of answers."""

SCORE_BATCH_SIZE = 256
"""Scores written per transaction."""

Progress = Callable[[str, int, int], None]
"""`progress(label, done, total)`: called as work finishes (e.g. to draw a progress bar)."""


def start_cycle(*, watch: str, trigger: str, scheduled_for: datetime | None = None) -> int:
    """Create a cycle of *watch* with its runs queued; returns its id."""
    with session_scope() as session:
        cycle = runs.create_cycle(session, watch_name=watch, trigger=trigger, scheduled_for=scheduled_for)
        assert cycle.id is not None
        return cycle.id


def worker_identity() -> str:
    """This process, as a lease owner: host, pid and a random part (pids are reused)."""
    return _IDENTITY


_IDENTITY = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def limits_hub(*, shared: bool) -> LimitsHub:
    """Rate limits for one event loop: shared through Redis by all workers, or in this process
    (`turnout run`, `turnout up`)."""
    settings = get_settings()
    return LimitsHub(settings.redis_url if shared and not settings.broker.startswith(IN_PROCESS_BROKER) else None)


async def replay_run(run_id: int, *, owner: str | None = None, progress: Progress | None = None,
                     make_provider: Callable[..., Provider] = provider_for, hub: LimitsHub | None = None,
                     budget: Budget | None = None) -> None:
    """Replay the cases run *run_id* has not answered yet and store each batch as it finishes.

    Only the holder of the run's lease replays it; the lease is renewed by a heartbeat while the
    replay goes on, so a second delivery of the same task returns at once instead of sending
    requests for cases that are being answered.
    """
    owner = owner or worker_identity()
    with session_scope() as session:
        if not leases.take_lease(session, run_id=run_id, owner=owner):
            return
        plan = runs.plan_replay(session, run_id=run_id)
        if plan is None:
            leases.release_lease(session, run_id=run_id, owner=owner)
            return
        runs.set_run_state(session, run_id=run_id, state="running")
    heartbeat = asyncio.create_task(_keep_lease(run_id, owner))
    own_hub = hub is None
    hub = hub or limits_hub(shared=True)
    if budget is None and plan.budget_left_usd is not None:
        # Runs on other workers spend concurrently: each gets its share of what is left.
        budget = Budget(max(plan.budget_left_usd, 0.0) / max(plan.open_runs, 1))
    try:
        await _replay_plan(plan, progress=progress, make_provider=make_provider, hub=hub, budget=budget)
    finally:
        heartbeat.cancel()
        if own_hub:
            await hub.aclose()
        with session_scope() as session:
            leases.release_lease(session, run_id=run_id, owner=owner)


async def _keep_lease(run_id: int, owner: str) -> None:
    while True:
        await asyncio.sleep(leases.lease_seconds() / 3)
        try:
            with session_scope() as session:
                leases.take_lease(session, run_id=run_id, owner=owner)
        except StoreUnavailable:
            continue  # a database blip: the next beat renews it, well before the lease ends


async def _replay_plan(plan: runs.ReplayPlan, *, progress: Progress | None,
                       make_provider: Callable[..., Provider], hub: LimitsHub, budget: Budget | None) -> None:
    run_id, label = plan.run_id, plan.model.name
    cost = CostModel.for_spec(plan.model)
    try:
        provider = None if plan.model.kind == "vllm" else make_provider(
            plan.model, limits=hub.for_model(plan.model), cost=cost)
    except ProviderUnavailable as exc:
        with session_scope() as session:
            runs.set_run_state(session, run_id=run_id, state="failed", reason=str(exc), kind="provider_unavailable")
        return
    requests = (Request(case_id=item.case.id, repetition=repetition,
                        messages=build_messages(item.case, plan.template)) for item, repetition in plan.todo)
    done = plan.n_total - len(plan.todo)
    if progress:
        progress(label, done, plan.n_total)
    stopped = False
    try:
        async for batch in _answers(plan, requests, provider, budget=budget, cost=cost):
            # Stored on a thread, so the event loop keeps the requests in flight while the batch is written.
            run = await asyncio.to_thread(_store_batch, run_id, batch)
            done += len(batch)
            if progress:
                progress(label, done, plan.n_total)
            if run.state in FINAL_STATES:
                stopped = True  # cancelled while replaying: stop sending
                break
    except (ProviderUnavailable, ReplayStopped) as exc:  # no vLLM here; circuit open; budget spent
        kind: FailureKind = exc.kind if isinstance(exc, ReplayStopped) else "provider_unavailable"
        with session_scope() as session:
            runs.refresh_run_counts(session, run_id=run_id)
            runs.set_run_state(session, run_id=run_id, state="failed", reason=str(exc), kind=kind)
        return
    finally:
        if provider is not None:
            await provider.aclose()
    if stopped:
        return
    with session_scope() as session:
        run = runs.refresh_run_counts(session, run_id=run_id)
        if run.n_done < run.n_total:
            return  # cut short: a later delivery finishes it
        if run.n_total and run.n_errors == run.n_total:
            kinds = results.error_kinds(session, run_id=run_id)
            failure, reason = all_failed_reason(plan.model, kinds, n_total=run.n_total, run_id=run_id)
            runs.set_run_state(session, run_id=run_id, state="failed", reason=reason, kind=failure)
        else:
            runs.set_run_state(session, run_id=run_id, state="finished")


def all_failed_reason(model: ModelSpec, kinds: dict[str, int], *, n_total: int, run_id: int
                      ) -> tuple[FailureKind, str]:
    """Why a run whose every case failed failed: an endpoint that was never reached is named as
    down, instead of leaving a user to read a table of connection errors and timeouts."""
    unreachable = kinds.get("connection", 0) + kinds.get("timeout", 0)
    if kinds.get("connection") and unreachable == n_total and model.base_url:
        detail = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        return "endpoint_down", (f"endpoint down: {model.base_url} could not be reached for any of the {n_total} "
                                 f"cases ({detail}); is the server running? See `turnout results {run_id}`")
    return "all_failed", f"all {n_total} cases failed; see `turnout results {run_id}`"


async def score_cycle(cycle_id: int, *, specs: list[ScorerSpec] | None = None, run_ids: list[int] | None = None,
                      force: bool = False, progress: Progress | None = None) -> int:
    """Score every completion of the cycle that lacks a score for one of *specs* (default: the
    watch's scorers). Candidates' completions are scored with production's answer beside them.
    With *force*, scores that exist are computed again and overwritten. Returns how many were written."""
    with session_scope() as session:
        plan = results.plan_scoring(session, cycle_id=cycle_id, specs=specs, run_ids=run_ids, force=force)
    context, judges = scorer_context()
    try:
        return await _score_plan(plan, context, progress)
    finally:
        await judges.aclose()


async def _score_plan(plan: list[results.ScoringItem], context: ScorerContext, progress: Progress | None) -> int:
    built = {spec.key: spec.build(context) for item in plan for spec in item.missing}
    jobs = [(item, spec) for item in plan for spec in item.missing]
    limit = asyncio.Semaphore(get_settings().score_concurrency)

    async def one(item: results.ScoringItem, spec: ScorerSpec) -> tuple[int, ScorerSpec, Score]:
        async with limit:
            score = await score_completion(built[spec.key], item.case.case, item.completion, item.production)
        return item.completion_id, spec, score

    written = 0
    for start in range(0, len(jobs), SCORE_BATCH_SIZE):
        batch = await asyncio.gather(*(one(item, spec) for item, spec in jobs[start:start + SCORE_BATCH_SIZE]))
        with session_scope() as session:
            written += results.save_scores(session, scores=list(batch))
        if progress:
            progress("scoring", min(start + SCORE_BATCH_SIZE, len(jobs)), len(jobs))
    return written


def finish_cycle(cycle_id: int) -> str:
    """Close the cycle: `finished` unless every run failed. Returns the final state."""
    with session_scope() as session:
        cycle_runs = runs.cycle_runs(session, cycle_id=cycle_id)
        failed = [run for run in cycle_runs if run.state == "failed"]
        over_budget = [run for run in failed if run.failure_kind == "budget"]
        if over_budget:
            runs.set_cycle_state(session, cycle_id=cycle_id, state="failed", reason=over_budget[0].reason,
                                 kind="budget")
        elif cycle_runs and len(failed) == len(cycle_runs):
            reasons = "; ".join(sorted({run.reason or "failed" for run in failed}))
            kinds = {run.failure_kind for run in failed}
            kind = cast(FailureKind, kinds.pop()) if len(kinds) == 1 and None not in kinds else "runs_failed"
            runs.set_cycle_state(session, cycle_id=cycle_id, state="failed", reason=reasons, kind=kind)
        else:
            runs.set_cycle_state(session, cycle_id=cycle_id, state="finished")
        return runs.get_cycle(session, cycle_id=cycle_id).state


def _store_batch(run_id: int, completions: list[Completion]) -> RunRow:
    with session_scope() as session:
        results.save_completions(session, run_id=run_id, completions=completions)
        return runs.refresh_run_counts(session, run_id=run_id)


async def _answers(plan: runs.ReplayPlan, requests: Iterator[Request], provider: Provider | None, *,
                   budget: Budget | None, cost: CostModel) -> AsyncIterator[list[Completion]]:
    """Batches of answers: over HTTP with bounded concurrency, or one vLLM call for in-process models."""
    if provider is None:
        from jobs import gpu  # only GPU workers need it

        # The whole run is one batched generate call on this worker's GPU; it blocks, so in a thread.
        started = time.perf_counter()
        completions = await asyncio.to_thread(gpu.replay_batch, plan.model, list(requests))
        total = cost.busy_cost(time.perf_counter() - started)
        if total is not None:
            shares = share_by_busy_time(total, [c.latency_ms or 1.0 for c in completions])
            completions = [replace(c, cost_usd=share) for c, share in zip(completions, shares, strict=True)]
        for start in range(0, len(completions), REPLAY_BATCH_SIZE):
            yield completions[start:start + REPLAY_BATCH_SIZE]
        return
    async with aclosing(replay(requests, provider=provider, max_concurrency=plan.model.max_concurrency,
                               batch_size=REPLAY_BATCH_SIZE, breaker=CircuitBreaker(), budget=budget,
                               cost=cost)) as batches:
        async for batch in batches:
            yield batch


def replay_finished(cycle_id: int) -> bool:
    """After a run's replay: True for the one caller that moves the cycle on to scoring, which
    happens once every run of the cycle is over."""
    with session_scope() as session:
        return leases.all_runs_final(session, cycle_id=cycle_id) and leases.advance_step(
            session, cycle_id=cycle_id, from_step="replay", to_step="score")


def scoring_finished(cycle_id: int) -> bool:
    """After scoring: True for the one caller that moves the cycle on to analysis."""
    with session_scope() as session:
        return leases.advance_step(session, cycle_id=cycle_id, from_step="score", to_step="analyze")


def analyze_and_close(cycle_id: int) -> str:
    """The last step: statistics, then the cycle's final state. Returns that state."""
    with session_scope() as session:
        state = runs.get_cycle(session, cycle_id=cycle_id).state
    if state in FINAL_STATES:
        return state
    from jobs.analysis import analyze_cycle  # scipy is slow to import; only this step needs it

    analyze_cycle(cycle_id)
    state = finish_cycle(cycle_id)
    with session_scope() as session:
        leases.advance_step(session, cycle_id=cycle_id, from_step="analyze", to_step="done")
    return state


async def run_cycle(cycle_id: int, *, progress: Progress | None = None) -> str:
    """Run a whole cycle inline, through the same steps the workers run: every model's replay
    concurrently, then scoring, then analysis and closing."""
    with session_scope() as session:
        runs.set_cycle_state(session, cycle_id=cycle_id, state="running")
        cycle_runs = runs.cycle_runs(session, cycle_id=cycle_id)
        budget_usd = runs.recipe(runs.get_cycle(session, cycle_id=cycle_id)).watch.budget_usd
    run_ids = [run.id for run in cycle_runs if run.id is not None]
    # Inline, the runs of a cycle share one budget and one set of limits.
    budget = None if budget_usd is None else Budget(budget_usd,
                                                    spent_usd=sum(run.cost_usd for run in cycle_runs))
    hub = limits_hub(shared=False)
    try:
        await asyncio.gather(*(replay_run(run_id, progress=progress, hub=hub, budget=budget) for run_id in run_ids))
    finally:
        await hub.aclose()
    if replay_finished(cycle_id):
        await score_cycle(cycle_id, progress=progress)
        scoring_finished(cycle_id)
    return analyze_and_close(cycle_id)
