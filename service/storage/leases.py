"""Who replays a run right now, and what the reconciler must hand to the queue again.

A replay task first takes the run's lease (an atomic UPDATE), renews it with its heartbeat,
and only the holder sends requests: a re-delivered or re-enqueued task for a run that someone
is still replaying returns at once. A worker killed with SIGKILL stops renewing; its lease
ends, and the reconciler re-enqueues the run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service.settings import get_settings
from service.storage.runs import cycle_runs
from service.storage.tables import FINAL_STATES, CycleRow, RunRow, utcnow


def lease_seconds() -> float:
    """A lease not renewed for this long is over (`TURNOUT_LEASE_S`); heartbeats renew it every third."""
    return get_settings().lease_s


def take_lease(session: Session, *, run_id: int, owner: str, now: datetime | None = None) -> bool:
    """Take (or renew) the run's lease for *owner*; False when another live holder has it."""
    now = now or utcnow()
    table = RunRow.__table__  # type: ignore[attr-defined]
    result = session.exec(  # exec: an UPDATE's CursorResult, with its rowcount
        sa.update(table)
        .where(table.c.id == run_id,
               sa.or_(table.c.lease_owner.is_(None), table.c.lease_owner == owner,
                      table.c.lease_expires_at < now))
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds()), heartbeat_at=now)
    )
    return bool(result.rowcount)


def release_lease(session: Session, *, run_id: int, owner: str) -> None:
    """Give the lease back (only if *owner* still holds it)."""
    table = RunRow.__table__  # type: ignore[attr-defined]
    session.execute(sa.update(table).where(table.c.id == run_id, table.c.lease_owner == owner)
                    .values(lease_owner=None, lease_expires_at=None))


def mark_enqueued(session: Session, *, run_ids: list[int] | None = None, cycle_id: int | None = None,
                  step: str | None = None) -> None:
    """Record that replay tasks for *run_ids* (or the cycle's *step*) were just sent to the queue."""
    now = utcnow()
    if run_ids:
        table = RunRow.__table__  # type: ignore[attr-defined]
        session.execute(sa.update(table).where(table.c.id.in_(run_ids)).values(enqueued_at=now))
    if cycle_id is not None and step is not None:
        table = CycleRow.__table__  # type: ignore[attr-defined]
        session.execute(sa.update(table).where(table.c.id == cycle_id).values(step=step, step_enqueued_at=now))


def advance_step(session: Session, *, cycle_id: int, from_step: str, to_step: str) -> bool:
    """Move the cycle from *from_step* to *to_step* atomically; True for the one caller that did it."""
    table = CycleRow.__table__  # type: ignore[attr-defined]
    result = session.exec(sa.update(table).where(table.c.id == cycle_id, table.c.step == from_step)
                          .values(step=to_step, step_enqueued_at=utcnow()))
    return bool(result.rowcount)


def all_runs_final(session: Session, *, cycle_id: int) -> bool:
    """True when every run of the cycle has finished, failed or been cancelled."""
    return all(run.state in FINAL_STATES for run in cycle_runs(session, cycle_id=cycle_id))


def silent_runs(session: Session, *, silence: timedelta, now: datetime | None = None) -> list[RunRow]:
    """Runs of open cycles that nobody replays (no live lease) and that were not enqueued recently."""
    now = now or utcnow()
    cutoff = now - silence
    open_cycles = select(CycleRow.id).where(col(CycleRow.state).in_(["queued", "running"]),
                                            CycleRow.step == "replay")
    return list(session.exec(select(RunRow).where(
        col(RunRow.cycle_id).in_(open_cycles),
        col(RunRow.state).in_(["queued", "running"]),
        sa.or_(col(RunRow.lease_expires_at).is_(None), col(RunRow.lease_expires_at) < now),
        sa.or_(col(RunRow.enqueued_at).is_(None), col(RunRow.enqueued_at) < cutoff),
    )).all())


def stalled_cycles(session: Session, *, silence: timedelta, now: datetime | None = None) -> list[CycleRow]:
    """Open cycles whose scoring or analysis step was enqueued long ago, or whose runs are all over
    while the cycle still waits in `replay` (the message that should have moved it was lost)."""
    now = now or utcnow()
    cutoff = now - silence
    cycles = session.exec(select(CycleRow).where(col(CycleRow.state).in_(["queued", "running"]))).all()
    stalled = []
    for cycle in cycles:
        enqueued_long_ago = cycle.step_enqueued_at is None or cycle.step_enqueued_at < cutoff
        if cycle.step in ("score", "analyze") and enqueued_long_ago:
            stalled.append(cycle)
        elif cycle.step == "replay" and enqueued_long_ago and all_runs_final(session, cycle_id=cycle.id or 0):
            stalled.append(cycle)
    return stalled
