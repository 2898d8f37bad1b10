"""The pipeline steps as plain functions: `turnout run` calls them inline, Celery tasks call the same.

Each step reads what is left to do from the store, calls `evals`, and writes each batch as it
finishes, so running a step twice (a retry, a re-delivered message) does no work twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from contextlib import aclosing
from datetime import datetime
from typing import cast

from evals.cost import Budget, CostModel
from evals.errors import PolicyViolation
from evals.limits.breaker import CircuitBreaker, ReplayStopped
from evals.models import ModelSpec
from evals.prompts import build_messages
from evals.providers.base import AnyProvider
from evals.replay import replay
from evals.results import Completion, FailureKind, Request, Score
from evals.scoring.apply import score_completion
from evals.scoring.context import ScorerContext
from evals.scoring.registry import ScorerSpec
from jobs.delivery import Delivery, heartbeat, leased_step
from jobs.probe import replay_probe
from jobs.providers import ProviderUnavailable, provider_for
from jobs.ratelimit import LimitsHub
from jobs.scoring_context import JudgeProviders, check_judge_privacy, judge_budget, scorer_context
from service.settings import IN_PROCESS_BROKER, get_settings
from service.storage import leases, outbox, results, runs
from service.storage.db import StoreUnavailable, session_scope
from service.storage.tables import FINAL_STATES, RunRow, State

log = logging.getLogger(__name__)

REPLAY_BATCH_SIZE = 64
"""Completions written per transaction: large enough that a write costs little per case, small
enough that a crash loses at most a few seconds of answers."""

SCORE_BATCH_SIZE = 256
"""Scores written per transaction."""

JUDGE_RETRY_PASSES = 2
"""Passes over scores whose judge call failed in passing (429, 5xx, timeout), after the first, in one
scoring step: each judge call already retried inside the provider, so a pass rides out a longer outage."""

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


async def replay_run(run_id: int, *, delivery: Delivery | None = None, progress: Progress | None = None,
                     make_provider: Callable[..., AnyProvider] = provider_for, hub: LimitsHub | None = None,
                     budget: Budget | None = None) -> None:
    """Replay the cases run *run_id* has not answered yet and store each batch as it finishes.

    Only the holder of the run's lease replays it; the lease is renewed by a heartbeat while the
    replay goes on, so a second delivery of the same task returns at once instead of sending
    requests for cases that are being answered. Once a renewal is refused (the lease ended and
    another delivery took it) this one stops sending at once. Every kind of model goes the same way:
    *make_provider* (`jobs.providers.provider_for`) picks an HTTP provider or a batch provider (a GPU
    worker's vLLM), and `evals.replay.replay` drives either with the run's budget, circuit breaker and prices.
    Once every case is answered, the watch's distribution probe (if any) samples before the run is
    finished (`jobs.probe`).
    """
    delivery = delivery or Delivery(owner=worker_identity())
    owner = delivery.owner
    with session_scope() as session:
        if not leases.take_lease(session, run_id=run_id, owner=owner, takes_over=delivery.takes_over):
            return
        plan = runs.plan_replay(session, run_id=run_id)
        if plan is None:
            leases.release_lease(session, run_id=run_id, owner=owner)
            return
        runs.set_run_state(session, run_id=run_id, state="running")
    own_hub = hub is None
    hub = hub or limits_hub(shared=True)
    if budget is None and plan.budget_left_usd is not None:
        # Runs on other workers spend concurrently: each gets its share of what is left.
        budget = Budget(max(plan.budget_left_usd, 0.0) / max(plan.open_runs, 1))
    work = asyncio.ensure_future(_replay_plan(plan, progress=progress, make_provider=make_provider, hub=hub,
                                              budget=budget, owner=owner))
    lost = asyncio.Event()

    def stop() -> None:
        lost.set()
        work.cancel()

    beat = asyncio.create_task(heartbeat(lambda: _renew(run_id, delivery), on_lost=stop))
    try:
        await work
    except asyncio.CancelledError:
        if not lost.is_set():
            raise
        log.warning("run %s: the lease passed to another delivery; stopped sending", run_id)
    finally:
        beat.cancel()
        if own_hub:
            await hub.aclose()
        try:
            with session_scope() as session:
                leases.release_lease(session, run_id=run_id, owner=owner)
        except StoreUnavailable:
            pass  # the lease ends by itself; a retry of this task takes it over at once


def _renew(run_id: int, delivery: Delivery) -> bool:
    with session_scope() as session:
        return leases.take_lease(session, run_id=run_id, owner=delivery.owner)


async def _replay_plan(plan: runs.ReplayPlan, *, progress: Progress | None,
                       make_provider: Callable[..., AnyProvider], hub: LimitsHub, budget: Budget | None,
                       owner: str | None = None) -> None:
    run_id, label = plan.run_id, plan.model.name
    cost = CostModel.for_spec(plan.model)
    with session_scope() as session:
        cycle = runs.get_cycle(session, cycle_id=plan.cycle_id)
        cycle_at = cycle.scheduled_for or cycle.created_at
    try:
        provider = make_provider(plan.model, limits=hub.for_model(plan.model), cost=cost, cycle=plan.cycle_id,
                                 at=cycle_at)
    except ProviderUnavailable as exc:
        with session_scope() as session:
            runs.set_run_state(session, run_id=run_id, state="failed", reason=str(exc), kind="provider_unavailable")
        return
    requests = (Request(case_id=item.case.id, repetition=repetition, messages=build_messages(item.case, plan.template),
                        case=item.case) for item, repetition in plan.todo)
    done = plan.n_total - len(plan.todo)
    if progress:
        progress(label, done, plan.n_total)
    stopped = False
    try:
        async with aclosing(replay(requests, provider=provider, max_concurrency=plan.model.max_concurrency,
                                   batch_size=REPLAY_BATCH_SIZE, breaker=CircuitBreaker(), budget=budget,
                                   cost=cost)) as batches:
            async for batch in batches:
                # Stored on a thread, so the event loop keeps the requests in flight while the batch is written.
                run = await asyncio.to_thread(_store_batch, run_id, batch)
                done += len(batch)
                if progress:
                    progress(label, done, plan.n_total)
                if run.state in FINAL_STATES:
                    stopped = True  # cancelled while replaying: stop sending
                    break
                if owner is not None and run.lease_owner != owner:
                    stopped = True  # the lease passed to another delivery: it sends the rest
                    break
    except (ProviderUnavailable, ReplayStopped) as exc:  # no vLLM here; circuit open; budget spent
        kind: FailureKind = exc.kind if isinstance(exc, ReplayStopped) else "provider_unavailable"
        with session_scope() as session:
            runs.refresh_run_counts(session, run_id=run_id)
            runs.set_run_state(session, run_id=run_id, state="failed", reason=str(exc), kind=kind)
        return
    finally:
        await provider.aclose()
    if stopped:
        return
    with session_scope() as session:
        run = runs.refresh_run_counts(session, run_id=run_id)
    if run.n_done < run.n_total:
        return  # cut short: a later delivery finishes it
    answered = not (run.n_total and run.n_errors == run.n_total)
    if answered and not await replay_probe(plan, make_provider=make_provider, hub=hub, budget=budget, owner=owner,
                                           progress=progress):
        return  # cancelled, or the lease passed on: the other delivery samples the rest
    with session_scope() as session:
        run = runs.refresh_run_counts(session, run_id=run_id)
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
                      force: bool = False, progress: Progress | None = None, hub: LimitsHub | None = None) -> int:
    """Score every completion of the cycle that lacks a score for one of *specs* (default: the
    watch's scorers). Candidates' completions are scored with production's answer beside them.
    With *force*, scores that exist are computed again and overwritten. Returns how many were written.

    Judge calls pass through *hub*'s limits (default: shared ones, as replay's), their cost is stored
    with each batch and counted against the watch's `budget_usd`; a judge call the budget refuses
    fails the cycle with kind `budget`. Scores whose judge call failed in passing are asked again, up
    to `JUDGE_RETRY_PASSES` more times here (any later scoring of the cycle plans them again too).

    Raises:
        PolicyViolation: *specs* name a judge that may not receive the cycle's golden set (nothing is
            sent); with the watch's own scorers the cycle fails with that reason instead.
    """
    with session_scope() as session:
        chosen = specs if specs is not None else runs.recipe(runs.get_cycle(session, cycle_id=cycle_id)).scorers
    try:
        check_judge_privacy(cycle_id=cycle_id, specs=chosen)
    except PolicyViolation as exc:
        if specs is not None:
            raise
        with session_scope() as session:
            runs.set_cycle_state(session, cycle_id=cycle_id, state="failed", reason=exc.reason, kind="step_failed")
        return 0
    own_hub = hub is None
    hub = hub or limits_hub(shared=True)
    context, judges = scorer_context(hub=hub, budget=judge_budget(cycle_id=cycle_id))
    written = 0
    try:
        for attempt in range(1 + JUDGE_RETRY_PASSES):
            with session_scope() as session:
                plan = results.plan_scoring(session, cycle_id=cycle_id, specs=specs, run_ids=run_ids,
                                            force=force and attempt == 0)
            if not plan:
                break
            written += await _score_plan(cycle_id, plan, context, judges, progress)
            if judges.refused is not None:
                break
    finally:
        await judges.aclose()
        if own_hub:
            await hub.aclose()
    if judges.refused is not None:
        with session_scope() as session:
            runs.set_cycle_state(session, cycle_id=cycle_id, state="failed", reason=judges.refused, kind="budget")
    return written


async def _score_plan(cycle_id: int, plan: list[results.ScoringItem], context: ScorerContext,
                      judges: JudgeProviders, progress: Progress | None) -> int:
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
            results.add_judge_cost(session, cycle_id=cycle_id, cost_usd=judges.take_spent())
        if progress:
            progress("scoring", min(start + SCORE_BATCH_SIZE, len(jobs)), len(jobs))
    return written


def finish_cycle(cycle_id: int, *, fence: leases.StepFence | None = None) -> str:
    """Close the cycle: `finished` unless every run failed. Returns the final state.

    With *fence* (the analysis step's lease) the cycle is closed and its step set to `done` in one
    transaction, committed only while the lease is held.
    """
    with session_scope() as session:
        leases.fence(session, fence)
        state, reason, kind = closing_state(runs.cycle_runs(session, cycle_id=cycle_id))
        runs.set_cycle_state(session, cycle_id=cycle_id, state=state, reason=reason, kind=kind)
        if fence is not None:
            leases.advance_step(session, cycle_id=cycle_id, from_step="analyze", to_step="done")
        return runs.get_cycle(session, cycle_id=cycle_id).state


def closing_state(cycle_runs: list[RunRow]) -> tuple[State, str | None, FailureKind | None]:
    """The state a cycle with these runs closes in, why, and the failure kind: failed when a run ran
    over the budget or every run failed, else finished."""
    failed = [run for run in cycle_runs if run.state == "failed"]
    over_budget = [run for run in failed if run.failure_kind == "budget"]
    if over_budget:
        return "failed", over_budget[0].reason, "budget"
    if cycle_runs and len(failed) == len(cycle_runs):
        kinds = {run.failure_kind for run in failed}
        kind = cast(FailureKind, kinds.pop()) if len(kinds) == 1 and None not in kinds else "runs_failed"
        return "failed", "; ".join(sorted({run.reason or "failed" for run in failed})), kind
    return "finished", None, None


def _store_batch(run_id: int, completions: list[Completion]) -> RunRow:
    with session_scope() as session:
        results.save_completions(session, run_id=run_id, completions=completions)
        return runs.refresh_run_counts(session, run_id=run_id)


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


def cycle_alerts(cycle_id: int) -> list[int]:
    """The cycle's alerts still waiting in the outbox."""
    with session_scope() as session:
        return outbox.cycle_alerts(session, cycle_id=cycle_id)


def analyze_and_close(cycle_id: int, *, fence: leases.StepFence | None = None) -> str:
    """The last step: statistics, the advisor's recommendation, then the cycle's final state.

    Args:
        cycle_id: The cycle.
        fence: The step's lease, when a delivery holds it. The step runs on a thread, which a lost
            lease cannot stop: each of its write transactions first checks that the lease is still
            held, so a delivery whose step was taken over while it computed writes nothing.

    Returns:
        That state.

    Raises:
        LeaseLost: another delivery took the step over; what was not committed yet never will be.
    """
    with session_scope() as session:
        state = runs.get_cycle(session, cycle_id=cycle_id).state
    if state in FINAL_STATES:
        return state
    from jobs.advice import advise_cycle  # scipy is slow to import; only this step needs it
    from jobs.analysis import analyze_cycle
    from jobs.drift import check_cycle_drift

    comparisons = analyze_cycle(cycle_id, fence=fence)
    check_cycle_drift(cycle_id, fence=fence)
    with session_scope() as session:
        closing, _, _ = closing_state(runs.cycle_runs(session, cycle_id=cycle_id))
    if closing == "finished":  # a failed cycle gets no recommendation: it neither extends nor breaks a streak
        advise_cycle(cycle_id, comparisons=comparisons, fence=fence)
    state = finish_cycle(cycle_id, fence=fence)
    if fence is None:
        with session_scope() as session:
            leases.advance_step(session, cycle_id=cycle_id, from_step="analyze", to_step="done")
    return state


async def run_cycle(cycle_id: int, *, progress: Progress | None = None) -> str:
    """Run a whole cycle inline, through the same steps the workers run: every model's replay
    concurrently, then scoring, then analysis and closing."""
    with session_scope() as session:
        runs.set_cycle_state(session, cycle_id=cycle_id, state="running")
        cycle_runs = runs.cycle_runs(session, cycle_id=cycle_id)
        cycle = runs.get_cycle(session, cycle_id=cycle_id)
        budget_usd = runs.recipe(cycle).watch.budget_usd
        spent_usd = runs.spent_usd(cycle, cycle_runs)
    run_ids = [run.id for run in cycle_runs if run.id is not None]
    # Inline, the runs of a cycle share one budget, and they and the judges one set of limits.
    budget = None if budget_usd is None else Budget(budget_usd, spent_usd=spent_usd)
    hub = limits_hub(shared=False)
    # Inline there is nobody to retry a step: its first failure fails the cycle, with the reason.
    delivery = Delivery(owner=worker_identity())
    try:
        await asyncio.gather(*(replay_run(run_id, progress=progress, hub=hub, budget=budget) for run_id in run_ids))
        # Judges share the replay's limits, so the hub stays open through scoring.
        if replay_finished(cycle_id) and await leased_step(
                cycle_id, "score", lambda: score_cycle(cycle_id, progress=progress, hub=hub), delivery=delivery,
                max_attempts=1):
            scoring_finished(cycle_id)
    finally:
        await hub.aclose()
    with session_scope() as session:
        cycle = runs.get_cycle(session, cycle_id=cycle_id)
    if cycle.state in FINAL_STATES or cycle.step != "analyze":
        return analyze_and_close(cycle_id)  # a step failed (its state is returned), or runs were cut short
    fence = leases.StepFence(cycle_id=cycle_id, owner=delivery.owner)
    await leased_step(cycle_id, "analyze", lambda: asyncio.to_thread(analyze_and_close, cycle_id, fence=fence),
                      delivery=delivery, max_attempts=1)
    with session_scope() as session:
        return runs.get_cycle(session, cycle_id=cycle_id).state
