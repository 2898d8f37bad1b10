"""Handing work to the queue. The database row comes first, the message second: a message lost on
the way (broker down, Redis restarted) delays the work until the reconciler sends it again."""

from __future__ import annotations

import logging
from datetime import datetime

from jobs import tasks
from jobs.pipeline import start_cycle
from service.storage import leases, runs
from service.storage.db import session_scope
from service.storage.tables import FINAL_STATES, RunRow

log = logging.getLogger(__name__)


def queue_for(run: RunRow) -> str:
    """`gpu` for in-process vLLM models, `replay` for everything reached over HTTP."""
    return "gpu" if run.model_spec.get("kind") == "vllm" else "replay"


def trigger(*, watch: str, trigger: str = "manual", scheduled_for: datetime | None = None) -> int:
    """Create a cycle of *watch* (unique per scheduled slot) and enqueue it; returns the cycle id."""
    cycle_id = start_cycle(watch=watch, trigger=trigger, scheduled_for=scheduled_for)
    enqueue_cycle(cycle_id)
    return cycle_id


def enqueue_cycle(cycle_id: int) -> None:
    """Send one replay task per unfinished run of the cycle (the first half of its canvas)."""
    with session_scope() as session:
        runs.set_cycle_state(session, cycle_id=cycle_id, state="running")
        pending = [run for run in runs.cycle_runs(session, cycle_id=cycle_id) if run.state not in FINAL_STATES]
    for run in pending:
        enqueue_run(run)
    if not pending:
        enqueue_step(cycle_id, "score")


def enqueue_run(run: RunRow) -> None:
    """Send a replay task for *run* and note when."""
    assert run.id is not None
    with session_scope() as session:
        leases.mark_enqueued(session, run_ids=[run.id])
    try:
        tasks.replay_run.apply_async(args=(run.id, run.cycle_id), queue=queue_for(run))
    except Exception as exc:  # broker down: the reconciler sends it again later
        log.warning("could not enqueue run %s (%s); the reconciler will retry", run.id, exc)


def enqueue_step(cycle_id: int, step: str) -> None:
    """Send the cycle's `score` or `analyze` step (again)."""
    with session_scope() as session:
        leases.mark_enqueued(session, cycle_id=cycle_id, step=step)
    task = tasks.score_cycle if step == "score" else tasks.analyze_cycle
    try:
        task.apply_async(args=(cycle_id,))
    except Exception as exc:
        log.warning("could not enqueue %s of cycle %s (%s); the reconciler will retry", step, cycle_id, exc)
