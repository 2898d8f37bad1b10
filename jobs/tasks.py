"""Thin Celery tasks: IDs in, the pipeline functions of jobs.pipeline do the work.

A cycle's canvas: one `replay_run` per model (in parallel, on `replay` or `gpu`) → `score_cycle`
→ `analyze_cycle`. Each step hands the next to the queue itself, once: the step change in the
database is atomic, so of two replays finishing together exactly one sends the scoring. No result
backend is needed, and the reconciler re-sends any step whose message was lost.

Task names are a wire contract: once released they never change. Every body is safe to run
twice (leases, unique keys, atomic step changes), so retries and redeliveries are harmless.

A step that closes its cycle, whichever way (analysis, a judge over the budget, a step failed for
good), hands the cycle's alert to the `alerts` queue as soon as that commit is made
(`outbox.when_cycles_close`); the reconciler sends any message lost on the way.
"""

from __future__ import annotations

import asyncio

from jobs import pipeline
from jobs.alerts.tasks import enqueue_cycle_alerts
from jobs.celery_app import task
from jobs.delivery import delivery_of, leased_step
from service.storage import leases, outbox
from service.storage.db import StoreUnavailable

RETRY = {"autoretry_for": (StoreUnavailable,), "retry_backoff": 2, "retry_backoff_max": 60,
         "retry_jitter": True, "max_retries": 20, "acks_late": True}


@task(name="jobs.replay_run", **RETRY)
def replay_run(run_id: int, cycle_id: int) -> None:
    """Replay one run's missing cases; when it was the cycle's last run, send the scoring."""
    # The lease owner is this delivery: a message Redis hands out again (same task id) while the
    # first delivery still works finds the run leased and returns; a retry takes over its own lease.
    with outbox.when_cycles_close(enqueue_cycle_alerts):
        asyncio.run(pipeline.replay_run(run_id, delivery=delivery_of(replay_run.request)))
    if pipeline.replay_finished(cycle_id):
        score_cycle.apply_async(args=(cycle_id,))


@task(name="jobs.score_cycle", **RETRY)
def score_cycle(cycle_id: int) -> None:
    """Score every completion of the cycle that lacks a score; then send the analysis. Only the
    holder of the step's lease scores, so a re-sent message never pays for judge calls twice."""
    with outbox.when_cycles_close(enqueue_cycle_alerts):
        ran = asyncio.run(leased_step(cycle_id, "score", lambda: pipeline.score_cycle(cycle_id),
                                      delivery=delivery_of(score_cycle.request)))
    if ran and pipeline.scoring_finished(cycle_id):
        analyze_cycle.apply_async(args=(cycle_id,))


@task(name="jobs.analyze_cycle", **RETRY)
def analyze_cycle(cycle_id: int) -> None:
    """Statistics for the cycle, then its final state (under the step's lease, as scoring)."""
    # The analysis runs on a thread, which a lost lease cannot stop: its writes are fenced by the lease.
    delivery = delivery_of(analyze_cycle.request)
    fence = leases.StepFence(cycle_id=cycle_id, owner=delivery.owner)
    with outbox.when_cycles_close(enqueue_cycle_alerts):
        asyncio.run(leased_step(cycle_id, "analyze",
                                lambda: asyncio.to_thread(pipeline.analyze_and_close, cycle_id, fence=fence),
                                delivery=delivery))
