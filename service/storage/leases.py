"""Who replays a run or runs a cycle's step right now, and what the reconciler must hand to the queue again.

A replay task first takes the run's lease (an atomic UPDATE), renews it with its heartbeat, and
only the holder sends requests; scoring and analysis steps hold a lease on the cycle the same way.
The owner is one *delivery* of a task (its id, its retry number and a random part), so a message
that Redis hands out again with the same task id finds the work leased and returns. A worker
killed with SIGKILL stops renewing; its lease ends, and the reconciler re-enqueues the work.

Lease times are read and compared on the database's clock, never a worker's, so workers whose
clocks disagree still agree on when a lease ends.

A step's work may outlive its lease (the analysis runs on a thread that a lost lease cannot stop), so
the analysis step's write transactions are fenced: each first proves, in the same transaction, that
its delivery still holds the step (`fence`), and rolls back with `LeaseLost` when another took it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service.settings import get_settings
from service.storage.runs import cycle_runs
from service.storage.tables import FINAL_STATES, CycleRow, RunRow, utcnow

BACKOFF_MAX_DOUBLINGS = 5
"""The reconciler waits `silence × 2^k` after the k-th unanswered re-send of a run, at most 32 × silence."""


def lease_seconds() -> float:
    """A lease not renewed for this long is over (`TURNOUT_LEASE_S`); heartbeats renew it every third."""
    return get_settings().lease_s


def db_now(session: Session) -> datetime:
    """Now on the database's clock (SQLite is embedded: its clock is this machine's)."""
    if session.get_bind().dialect.name == "sqlite":
        return utcnow()
    value: datetime = session.execute(sa.select(sa.func.now())).scalar_one()
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _changed(result: Any) -> bool:
    """True when an UPDATE matched a row."""
    return bool(cast(sa.CursorResult[Any], result).rowcount)


def _free_for(column: sa.ColumnElement[str], expires: sa.ColumnElement[datetime], *, owner: str,
              takes_over: Sequence[str], now: datetime) -> sa.ColumnElement[bool]:
    """Nobody holds it, *owner* does, its lease ended, or an earlier delivery of the same task holds it."""
    return sa.or_(column.is_(None), column == owner, expires < now, *(column.startswith(p) for p in takes_over))


def take_lease(session: Session, *, run_id: int, owner: str, takes_over: Sequence[str] = ()) -> bool:
    """Take (or renew) the run's lease for *owner*; False when another live holder has it.

    Args:
        session: The open session.
        run_id: The run.
        owner: This delivery (see `jobs.delivery`).
        takes_over: Owner prefixes of earlier deliveries of the same task (a retry's forerunners, over
            by the time Celery sends the retry) whose lease this one may take without waiting.
    """
    now = db_now(session)
    table = RunRow.__table__  # type: ignore[attr-defined]
    result = session.exec(  # exec: an UPDATE's CursorResult, with its rowcount
        sa.update(table)
        .where(table.c.id == run_id, _free_for(table.c.lease_owner, table.c.lease_expires_at, owner=owner,
                                               takes_over=takes_over, now=now))
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds()), heartbeat_at=now,
                enqueue_count=0)
    )
    return _changed(result)


def release_lease(session: Session, *, run_id: int, owner: str) -> None:
    """Give the lease back (only if *owner* still holds it)."""
    table = RunRow.__table__  # type: ignore[attr-defined]
    session.execute(sa.update(table).where(table.c.id == run_id, table.c.lease_owner == owner)
                    .values(lease_owner=None, lease_expires_at=None))


def take_step_lease(session: Session, *, cycle_id: int, step: str, owner: str,
                    takes_over: Sequence[str] = ()) -> bool:
    """Take (or renew) the lease on the cycle's *step* (`score`, `analyze`); False when the cycle is
    over, has moved to another step, or another live holder runs it."""
    now = db_now(session)
    table = CycleRow.__table__  # type: ignore[attr-defined]
    result = session.execute(
        sa.update(table)
        .where(table.c.id == cycle_id, table.c.step == step, table.c.state.in_(["queued", "running"]),
               _free_for(table.c.step_lease_owner, table.c.step_lease_expires_at, owner=owner,
                         takes_over=takes_over, now=now))
        .values(step_lease_owner=owner, step_lease_expires_at=now + timedelta(seconds=lease_seconds()))
    )
    return _changed(result)


def release_step_lease(session: Session, *, cycle_id: int, owner: str) -> None:
    """Give the step lease back (only if *owner* still holds it)."""
    table = CycleRow.__table__  # type: ignore[attr-defined]
    session.execute(sa.update(table).where(table.c.id == cycle_id, table.c.step_lease_owner == owner)
                    .values(step_lease_owner=None, step_lease_expires_at=None))


@dataclass(frozen=True)
class StepFence:
    """The step lease a delivery's writes are fenced by: they commit only while it holds the step."""

    cycle_id: int
    """The cycle whose step is leased."""
    owner: str
    """The delivery holding the step's lease (`jobs.delivery.Delivery.owner`)."""


class LeaseLost(Exception):
    """A fenced write found the step's lease with another delivery (or given back): nothing was committed."""


def fence(session: Session, step: StepFence | None) -> None:
    """Let the open transaction commit only while *step*'s owner holds the cycle's step lease.

    Called before a transaction's first write: the UPDATE renews the lease and, until the commit, holds
    the cycle's row (PostgreSQL) or the database's write lock (SQLite), so no other delivery can take
    the lease between this check and the commit. Does nothing when *step* is None (work run inline,
    outside a lease).

    Raises:
        LeaseLost: another delivery holds the step, or the lease was given back; the caller's
            transaction must roll back (`session_scope` does, as the error leaves it).
    """
    if step is None:
        return
    now = db_now(session)
    table = CycleRow.__table__  # type: ignore[attr-defined]
    result = session.execute(
        sa.update(table).where(table.c.id == step.cycle_id, table.c.step_lease_owner == step.owner)
        .values(step_lease_expires_at=now + timedelta(seconds=lease_seconds())))
    if not _changed(result):
        raise LeaseLost(f"cycle {step.cycle_id}: the step's lease is no longer held by {step.owner}; "
                        f"its writes were rolled back")


def count_step_failure(session: Session, *, cycle_id: int, step: str) -> int:
    """Note that the cycle's *step* raised; returns how many times it has failed so far."""
    table = CycleRow.__table__  # type: ignore[attr-defined]
    session.execute(sa.update(table).where(table.c.id == cycle_id, table.c.step == step)
                    .values(step_failures=table.c.step_failures + 1))
    return int(session.execute(sa.select(table.c.step_failures).where(table.c.id == cycle_id)).scalar_one())


def mark_enqueued(session: Session, *, run_ids: list[int] | None = None, cycle_id: int | None = None,
                  step: str | None = None) -> None:
    """Record that replay tasks for *run_ids* (or the cycle's *step*) were just sent to the queue."""
    now = db_now(session)
    if run_ids:
        table = RunRow.__table__  # type: ignore[attr-defined]
        session.execute(sa.update(table).where(table.c.id.in_(run_ids))
                        .values(enqueued_at=now, enqueue_count=table.c.enqueue_count + 1))
    if cycle_id is not None and step is not None:
        table = CycleRow.__table__  # type: ignore[attr-defined]
        session.execute(sa.update(table).where(table.c.id == cycle_id).values(step=step, step_enqueued_at=now))


def advance_step(session: Session, *, cycle_id: int, from_step: str, to_step: str) -> bool:
    """Move the cycle from *from_step* to *to_step* atomically; True for the one caller that did it."""
    table = CycleRow.__table__  # type: ignore[attr-defined]
    result = session.execute(sa.update(table).where(table.c.id == cycle_id, table.c.step == from_step)
                             .values(step=to_step, step_enqueued_at=db_now(session), step_failures=0))
    return _changed(result)


def all_runs_final(session: Session, *, cycle_id: int) -> bool:
    """True when every run of the cycle has finished, failed or been cancelled."""
    return all(run.state in FINAL_STATES for run in cycle_runs(session, cycle_id=cycle_id))


def resend_after(silence: timedelta, enqueue_count: int) -> timedelta:
    """How long a run's last replay message may go unanswered before the reconciler sends another:
    *silence*, doubled for each message already sent that no worker took (a busy or absent queue)."""
    doublings: int = min(max(enqueue_count - 1, 0), BACKOFF_MAX_DOUBLINGS)
    return timedelta(seconds=silence.total_seconds() * 2 ** doublings)


def silent_runs(session: Session, *, silence: timedelta) -> list[RunRow]:
    """Runs of open cycles that nobody replays (no live lease) and whose last replay message has gone
    unanswered for longer than `resend_after`."""
    now = db_now(session)
    open_cycles = select(CycleRow.id).where(col(CycleRow.state).in_(["queued", "running"]),
                                            CycleRow.step == "replay")
    candidates = session.exec(select(RunRow).where(
        col(RunRow.cycle_id).in_(open_cycles),
        col(RunRow.state).in_(["queued", "running"]),
        sa.or_(col(RunRow.lease_expires_at).is_(None), col(RunRow.lease_expires_at) < now),
        sa.or_(col(RunRow.enqueued_at).is_(None), col(RunRow.enqueued_at) < now - silence),
    )).all()
    return [run for run in candidates
            if run.enqueued_at is None or run.enqueued_at < now - resend_after(silence, run.enqueue_count)]


def stalled_cycles(session: Session, *, silence: timedelta) -> list[CycleRow]:
    """Open cycles whose scoring or analysis step was enqueued long ago and has no live holder, or whose
    runs are all over while the cycle still waits in `replay` (the message that should have moved it was lost)."""
    now = db_now(session)
    cutoff = now - silence
    cycles = session.exec(select(CycleRow).where(col(CycleRow.state).in_(["queued", "running"]))).all()
    stalled = []
    for cycle in cycles:
        enqueued_long_ago = cycle.step_enqueued_at is None or cycle.step_enqueued_at < cutoff
        held = cycle.step_lease_expires_at is not None and cycle.step_lease_expires_at >= now
        if cycle.step in ("score", "analyze") and enqueued_long_ago and not held:
            stalled.append(cycle)
        elif cycle.step == "replay" and enqueued_long_ago and all_runs_final(session, cycle_id=cycle.id or 0):
            stalled.append(cycle)
    return stalled
