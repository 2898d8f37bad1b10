"""Thin Celery tasks: IDs in, the pipeline functions of jobs.pipeline do the work.

A cycle's canvas: one `replay_run` per model (in parallel, on `replay` or `gpu`) → `score_cycle`
→ `analyze_cycle`. Each step hands the next to the queue itself, once: the step change in the
database is atomic, so of two replays finishing together exactly one sends the scoring. No result
backend is needed, and the reconciler re-sends any step whose message was lost.

Task names are a wire contract: once released they never change. Every body is safe to run
twice (leases, unique keys, atomic step changes), so retries and redeliveries are harmless.
"""

from __future__ import annotations

import asyncio
import uuid

from jobs import pipeline
from jobs.celery_app import task
from service.storage.db import StoreUnavailable

RETRY = {"autoretry_for": (StoreUnavailable,), "retry_backoff": 2, "retry_backoff_max": 60,
         "retry_jitter": True, "max_retries": 20, "acks_late": True}


@task(name="jobs.replay_run", **RETRY)
def replay_run(run_id: int, cycle_id: int) -> None:
    """Replay one run's missing cases; when it was the cycle's last run, send the scoring."""
    # The lease owner is this task: a retry keeps the task id and resumes its own lease, while a
    # second message for the run (re-enqueued, or delivered to a sibling process or thread of the
    # same worker) finds the run leased and returns.
    owner = f"task:{replay_run.request.id or uuid.uuid4()}"
    asyncio.run(pipeline.replay_run(run_id, owner=owner))
    if pipeline.replay_finished(cycle_id):
        score_cycle.apply_async(args=(cycle_id,))


@task(name="jobs.score_cycle", **RETRY)
def score_cycle(cycle_id: int) -> None:
    """Score every completion of the cycle that lacks a score; then send the analysis."""
    asyncio.run(pipeline.score_cycle(cycle_id))
    if pipeline.scoring_finished(cycle_id):
        analyze_cycle.apply_async(args=(cycle_id,))


@task(name="jobs.analyze_cycle", **RETRY)
def analyze_cycle(cycle_id: int) -> None:
    """Statistics for the cycle, then its final state."""
    pipeline.analyze_and_close(cycle_id)
