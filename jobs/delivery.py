"""One delivery of a task, as a lease owner, and the lease-holding frame the scoring and analysis steps run in.

Redis hands a message that was not acknowledged within `visibility_timeout` to another worker with
the *same* task id, while the first may still be working on it. A lease owned by the task id would
let both pass; a lease owned by the delivery (task id, retry number, random part) lets only one.
A Celery retry is a new delivery sent after its forerunner stopped: it may take over their leases
at once, instead of waiting for them to expire.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from evals.errors import TurnoutError
from service.settings import get_settings
from service.storage import leases, runs
from service.storage.db import StoreUnavailable, session_scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """Who holds a lease: one delivery of one task."""

    owner: str
    """`task:<task id>:<retry number>:<random>`, unique per delivery."""
    takes_over: tuple[str, ...] = ()
    """Owner prefixes of the earlier deliveries of this task that Celery retried into this one."""


def delivery_of(request: Any) -> Delivery:
    """The delivery a Celery task is running (`task.request`)."""
    task_id = request.id or uuid.uuid4().hex
    retries = int(request.retries or 0)
    return Delivery(owner=f"task:{task_id}:{retries}:{uuid.uuid4().hex[:8]}",
                    takes_over=tuple(f"task:{task_id}:{n}:" for n in range(retries)))


async def heartbeat(renew: Callable[[], bool], *, on_lost: Callable[[], None]) -> None:
    """Renew a lease every third of its length; call *on_lost* and stop once a renewal is refused
    (the lease ended and another delivery took it: this one must stop sending at once)."""
    while True:
        await asyncio.sleep(leases.lease_seconds() / 3)
        try:
            held = await asyncio.to_thread(renew)
        except StoreUnavailable:
            continue  # a database blip: the next beat renews it, well before the lease ends
        if not held:
            on_lost()
            return


async def leased_step(cycle_id: int, step: str, work: Callable[[], Awaitable[object]], *, delivery: Delivery,
                      max_attempts: int | None = None) -> bool:
    """Run the cycle's *step* (`score` or `analyze`) while holding its lease; True when it ran to the end.

    False when another live delivery holds the step, the cycle moved on or ended, the lease was lost
    while running (the work is stopped), or the step failed for the last time: after *max_attempts*
    failures (default `TURNOUT_STEP_MAX_ATTEMPTS`; database outages do not count) the cycle is marked
    `failed` with failure kind `step_failed` and the error as its reason.

    Raises:
        StoreUnavailable: the database is down (the task retries; this does not count as a failure).
        Exception: what the step raised, while it has attempts left.
    """
    def take() -> bool:
        with session_scope() as session:
            return leases.take_step_lease(session, cycle_id=cycle_id, step=step, owner=delivery.owner,
                                          takes_over=delivery.takes_over)

    if not await asyncio.to_thread(take):
        return False
    lost = False
    task = asyncio.ensure_future(work())

    def stop() -> None:
        nonlocal lost
        lost = True
        task.cancel()

    beat = asyncio.create_task(heartbeat(take, on_lost=stop))
    try:
        await task
    except asyncio.CancelledError:
        if not lost:
            raise
        log.warning("cycle %s: the %s lease passed to another delivery; stopped", cycle_id, step)
        return False
    except StoreUnavailable:
        raise
    except leases.LeaseLost as exc:  # a fenced write found the lease taken before the heartbeat did
        log.warning("cycle %s: %s", cycle_id, exc)
        return False
    except Exception as exc:
        if not _failed_for_good(cycle_id, step, exc, max_attempts or get_settings().step_max_attempts):
            raise
        return False
    finally:
        beat.cancel()
        _release(cycle_id, delivery.owner)
    return True


def _failed_for_good(cycle_id: int, step: str, exc: Exception, max_attempts: int) -> bool:
    with session_scope() as session:
        failures = leases.count_step_failure(session, cycle_id=cycle_id, step=step)
        if failures < max_attempts:
            log.warning("cycle %s: %s failed (%d of %d attempts): %s", cycle_id, step, failures, max_attempts, exc)
            return False
        detail = str(exc) if isinstance(exc, TurnoutError) else f"{exc.__class__.__name__}: {exc}"
        reason = f"step {step} failed {failures} time(s): {detail}"
        runs.set_cycle_state(session, cycle_id=cycle_id, state="failed", reason=reason, kind="step_failed")
    log.error("cycle %s failed: %s", cycle_id, reason)
    return True


def _release(cycle_id: int, owner: str) -> None:
    try:
        with session_scope() as session:
            leases.release_step_lease(session, cycle_id=cycle_id, owner=owner)
    except StoreUnavailable:
        pass  # the lease ends by itself; a retry of this task takes it over at once
