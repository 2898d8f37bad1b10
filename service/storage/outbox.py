"""The alert outbox: alerts written in the transaction of the state change that caused them.

A watch gets at most one alert per cycle (`dedup_key` is the watch and cycle): news of the same
cycle found later (failed runs, a recovery) is folded into the pending alert. An alert that repeats
the watch's last one of its kind (same verdict and target, same failure kinds) inside
`policy.cooldown_hours` is not written.

Whoever hands alerts to workers (the Celery tasks) learns of a closing cycle once its transaction has
committed, through `when_cycles_close`: the cycle's alert is then complete and visible to a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, replace
from datetime import datetime

from sqlalchemy import event
from sqlmodel import Session, col, select

from evals.alerts import AlertPayload, FailedRun, held_back
from evals.alerts.message import PastAlert
from evals.models import display_name
from evals.recipe import Recipe
from service.storage.alert_tables import AlertRow
from service.storage.tables import CycleRow, ModelRow, RunRow, WatchRow, utcnow

log = logging.getLogger(__name__)

FINAL_ALERT_STATES = frozenset({"delivered", "failed", "skipped"})

CycleListener = Callable[[list[int]], None]
_CLOSED = "turnout_closed_cycles"
_listener: ContextVar[CycleListener | None] = ContextVar("turnout_cycle_listener", default=None)


@contextmanager
def when_cycles_close(listener: CycleListener) -> Iterator[None]:
    """Inside this block (and the tasks and threads it starts), *listener* gets the ids of the cycles each
    committed transaction closed, right after the commit. Its errors are logged, never raised: the
    reconciler sends what it failed to."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    closed = session.info.pop(_CLOSED, None)
    listener = _listener.get()
    if closed and listener is not None:
        try:
            listener(sorted(closed))
        except Exception:  # the alert is in the outbox either way
            log.warning("could not hand the alerts of cycle(s) %s over", sorted(closed), exc_info=True)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_CLOSED, None)


def dedup_key(*, watch_id: int, cycle_id: int | None, extra: str = "") -> str:
    """The key that makes an alert unique, and finds its message in Slack's history."""
    return f"turnout:{watch_id}:{cycle_id if cycle_id is not None else 'test'}{extra}"


def record_verdict(session: Session, *, cycle: CycleRow, watch: WatchRow, document: dict[str, object],
                   previous_verdict: str) -> AlertRow | None:
    """Write the alert of an announced verdict change (the caller checked `Announcement.changed`).

    Args:
        session: The transaction the recommendation is written in.
        cycle: The cycle advised.
        watch: Its watch (locked by the caller).
        document: The recommendation, as `turnout advise --json` prints it.
        previous_verdict: The verdict announced before this change: a change away from `stay` starts a
            new Slack message, any other posts in the thread of the watch's last one.

    Returns:
        The outbox row, or None when the cooldown held it back.
    """
    alert = AlertPayload(watch=watch.name, cycle_id=cycle.id, kind="verdict", recommendation=dict(document))
    row = _write(session, cycle=cycle, watch=watch, alert=alert)
    if row is not None and previous_verdict != "stay":
        row.parent_id = _thread_root(session, watch_id=watch.id or 0, before=row.id)
        session.add(row)
    return row


def record_cycle_closed(session: Session, *, cycle: CycleRow) -> AlertRow | None:
    """Write (or fold into the cycle's pending alert) what a closing cycle has to say: the cycle or
    some of its runs failed, or it finished after a failing cycle (recovery). Nothing for a cycle
    cancelled by a user, or one that finished as the previous one did."""
    if cycle.state not in ("failed", "finished"):
        return None
    session.info.setdefault(_CLOSED, set()).add(cycle.id)
    watch = session.get(WatchRow, cycle.watch_id)
    if watch is None:
        return None
    failed = _failed_runs(session, cycle_id=cycle.id or 0)
    recovered = cycle.state == "finished" and not failed and _was_failing(session, cycle=cycle)
    if cycle.state == "finished" and not failed and not recovered:
        return None
    existing = session.exec(select(AlertRow).where(
        AlertRow.dedup_key == dedup_key(watch_id=watch.id or 0, cycle_id=cycle.id))).first()
    if existing is not None:  # fold into the cycle's verdict alert, unless it has gone out already
        if existing.attempts == 0 and existing.state == "pending":
            payload = existing.payload | {"failed_runs": [asdict(run) for run in failed], "recovered": recovered}
            existing.payload = AlertPayload.from_json(payload).to_json()
            session.add(existing)
        return existing
    if cycle.state == "failed":
        alert = AlertPayload(watch=watch.name, cycle_id=cycle.id, kind="failing", failure_kind=cycle.failure_kind,
                             reason=cycle.reason, failed_runs=tuple(failed))
    elif failed:
        alert = AlertPayload(watch=watch.name, cycle_id=cycle.id, kind="failing", failed_runs=tuple(failed))
    else:
        alert = AlertPayload(watch=watch.name, cycle_id=cycle.id, kind="recovery", recovered=True)
    return _write(session, cycle=cycle, watch=watch, alert=alert)


def record_drift(session: Session, *, cycle: CycleRow, lines: Sequence[str]) -> AlertRow | None:
    """Write the alert that the production model drifted, in the transaction that stores its drift check
    (a candidate's drift is a reason in the recommendation, not an alert of its own).

    Args:
        session: The transaction the drift check is written in.
        cycle: The cycle checked.
        lines: What drifted, e.g. `prod: fingerprint changed from fp_1 to fp_2`.

    Returns:
        The outbox row (a later verdict alert of the same cycle keeps these lines), or None when the
        cooldown held it back.
    """
    watch = session.get(WatchRow, cycle.watch_id)
    if watch is None or not lines:
        return None
    alert = AlertPayload(watch=watch.name, cycle_id=cycle.id, kind="drift", drift=tuple(lines))
    return _write(session, cycle=cycle, watch=watch, alert=alert)


def _write(session: Session, *, cycle: CycleRow, watch: WatchRow, alert: AlertPayload) -> AlertRow | None:
    key = dedup_key(watch_id=watch.id or 0, cycle_id=cycle.id)
    row = session.exec(select(AlertRow).where(AlertRow.dedup_key == key)).first()
    if row is not None:  # a retried step or a recomputation: the same alert, replaced while not sent
        if row.attempts == 0 and row.state == "pending":
            if not alert.drift:  # news of the same cycle written earlier (the drift check) is folded in
                alert = replace(alert, drift=AlertPayload.from_json(row.payload).drift)
            row.kind, row.subject, row.payload = alert.kind, alert.subject, alert.to_json()
            session.add(row)
        return row
    now = utcnow()
    cooldown = Recipe.model_validate(cycle.recipe).watch.policy.cooldown_hours
    if held_back(alert=alert, previous=_previous(session, watch_id=watch.id or 0, kind=alert.kind), now=now,
                 cooldown_hours=cooldown):
        return None
    row = AlertRow(watch_id=watch.id or 0, cycle_id=cycle.id, kind=alert.kind, dedup_key=key, subject=alert.subject,
                   payload=alert.to_json(), created_at=now, next_attempt_at=now)
    session.add(row)
    session.flush()
    return row


def create_test_alert(session: Session, *, watch: WatchRow) -> AlertRow:
    """A test message for `turnout alerts test`, outside any cycle (a new key every time)."""
    now = utcnow()
    alert = AlertPayload(watch=watch.name, cycle_id=None, kind="test")
    row = AlertRow(watch_id=watch.id or 0, kind="test", subject="test", payload=alert.to_json(), created_at=now,
                   dedup_key=dedup_key(watch_id=watch.id or 0, cycle_id=None, extra=f":{now.timestamp():.6f}"))
    session.add(row)
    session.flush()
    return row


def _previous(session: Session, *, watch_id: int, kind: str) -> PastAlert | None:
    row = session.exec(select(AlertRow).where(AlertRow.watch_id == watch_id, AlertRow.kind == kind)
                       .order_by(col(AlertRow.id).desc()).limit(1)).first()
    return None if row is None else PastAlert(subject=row.subject, created_at=row.created_at)


def _thread_root(session: Session, *, watch_id: int, before: int | None) -> int | None:
    return session.exec(select(AlertRow.id).where(AlertRow.watch_id == watch_id, AlertRow.kind == "verdict",
                                                  col(AlertRow.parent_id).is_(None), col(AlertRow.id) != before)
                        .order_by(col(AlertRow.id).desc()).limit(1)).first()


def _failed_runs(session: Session, *, cycle_id: int) -> list[FailedRun]:
    rows = session.exec(select(RunRow, ModelRow.name).join(ModelRow, col(ModelRow.id) == RunRow.model_id)
                        .where(RunRow.cycle_id == cycle_id, RunRow.state == "failed")
                        .order_by(col(RunRow.id))).all()
    return [FailedRun(model=display_name(name, simulated=run.model_spec.get("kind") == "sim"), kind=run.failure_kind,
                      reason=run.reason) for run, name in rows]


def _was_failing(session: Session, *, cycle: CycleRow) -> bool:
    previous = session.exec(select(CycleRow).where(CycleRow.watch_id == cycle.watch_id,
                                                   col(CycleRow.id) < cycle.id,
                                                   col(CycleRow.state).in_(("finished", "failed")))
                            .order_by(col(CycleRow.id).desc()).limit(1)).first()
    if previous is None:
        return False
    return previous.state == "failed" or bool(_failed_runs(session, cycle_id=previous.id or 0))


def due(session: Session, *, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Ids of pending alerts whose next attempt is due, oldest first."""
    ids = session.exec(select(AlertRow.id).where(AlertRow.state == "pending",
                                                 col(AlertRow.next_attempt_at) <= (now or utcnow()))
                       .order_by(col(AlertRow.id)).limit(limit)).all()
    return [alert_id for alert_id in ids if alert_id is not None]


def cycle_alerts(session: Session, *, cycle_id: int) -> list[int]:
    """Ids of the pending alerts of a cycle."""
    ids = session.exec(select(AlertRow.id).where(AlertRow.cycle_id == cycle_id, AlertRow.state == "pending")).all()
    return [alert_id for alert_id in ids if alert_id is not None]


def list_alerts(session: Session, *, limit: int = 50) -> list[AlertRow]:
    """The latest alerts, newest first."""
    return list(session.exec(select(AlertRow).order_by(col(AlertRow.id).desc()).limit(limit)).all())
