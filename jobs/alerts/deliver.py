"""Delivering outbox rows: claim a due alert, send it through the watch's route, record the answer.

`jobs.deliver_alerts` calls `deliver_alert` on workers; `turnout run` calls `deliver_now` before it
exits. A delivery holds its row for `lease_s` (the next attempt moves there), so two deliveries never
send one alert at once; a delivery that dies leaves the row due again after that, and the reconciler
hands it to the queue. Every attempt after the first looks for the message before posting it again.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from evals.alerts import AlertPayload, AlertRoutes, render
from evals.alerts.schedule import retry_delay
from evals.recipe import StoredWatch
from jobs.alerts.routes import (
    Outcome,
    SlackTarget,
    post_to_slack,
    post_to_slack_webhook,
    post_to_webhook,
)
from service.settings import get_settings
from service.storage import outbox
from service.storage.alert_tables import AlertRow
from service.storage.db import session_scope
from service.storage.tables import WatchRow, utcnow

log = logging.getLogger(__name__)

PARENT_WAIT_S = 5.0
"""A thread reply whose first message is not out yet waits this long, then looks again."""


@dataclass(frozen=True)
class _Work:
    alert_id: int
    key: str
    payload: AlertPayload
    routes: AlertRoutes
    target: SlackTarget


def deliver_alert(alert_id: int) -> str | None:
    """Deliver one alert if it is due; returns its state afterwards (None when it was not taken)."""
    settings = get_settings()
    with session_scope() as session:
        row = outbox.claim(session, alert_id=alert_id, hold=timedelta(seconds=_hold_s(settings.lease_s)))
        if row is None:
            return None
        work = _work(session, row)
        if work is None:
            return "pending"
    route, outcome = _send(work, api_url=settings.slack_api_url, public_url=settings.public_url,
                           timeout_s=_hold_s(settings.lease_s) / 3)
    with session_scope() as session:
        return _record(session, alert_id=alert_id, route=route, outcome=outcome)


def _hold_s(lease_s: float) -> float:
    # The Slack call's timeout is a third of the hold, so it is over before another delivery may look.
    return max(lease_s, 3.0)


def _work(session: Session, row: AlertRow) -> _Work | None:
    watch = session.get(WatchRow, row.watch_id)
    routes = StoredWatch.model_validate(watch.spec).alerts if watch is not None else AlertRoutes()
    thread_ts = None
    if row.parent_id is not None:
        parent = session.get(AlertRow, row.parent_id)
        if parent is not None and parent.state == "pending":
            row.attempts -= 1  # not an attempt: wait for the thread's first message
            row.next_attempt_at = utcnow() + timedelta(seconds=PARENT_WAIT_S)
            session.add(row)
            return None
        if parent is not None and parent.state == "delivered" and parent.slack_ts is not None:
            thread_ts = parent.slack_ts
            row.slack_channel_id = row.slack_channel_id or parent.slack_channel_id
    channel_id = row.slack_channel_id or session.exec(
        select(AlertRow.slack_channel_id).where(AlertRow.watch_id == row.watch_id,
                                                col(AlertRow.slack_channel_id).is_not(None))
        .order_by(col(AlertRow.id).desc()).limit(1)).first()
    target = SlackTarget(key=row.dedup_key, channel=routes.slack_channel, channel_id=channel_id,
                         created_at=row.created_at, may_exist=row.attempts > 1, thread_ts=thread_ts)
    return _Work(alert_id=row.id or 0, key=row.dedup_key, payload=AlertPayload.from_json(row.payload),
                 routes=routes, target=target)


def route_of(routes: AlertRoutes) -> str | None:
    """The route an alert of a watch with *routes* goes by here: the first whose variable is set."""
    if os.environ.get(routes.slack_token_env):
        return "slack"
    if os.environ.get(routes.slack_webhook_env):
        return "slack_webhook"
    if os.environ.get(routes.webhook_url_env):
        return "webhook"
    return None


def _send(work: _Work, *, api_url: str, public_url: str | None,
          timeout_s: float) -> tuple[str | None, Outcome | None]:
    message = render(work.payload, public_url=public_url)
    routes = work.routes
    route = route_of(routes)
    if route == "slack":
        return route, post_to_slack(token=os.environ[routes.slack_token_env], api_url=api_url, target=work.target,
                                    message=message, timeout_s=timeout_s)
    if route == "slack_webhook":
        return route, post_to_slack_webhook(url=os.environ[routes.slack_webhook_env], message=message)
    if route == "webhook":
        return route, post_to_webhook(url=os.environ[routes.webhook_url_env], key=work.key,
                                      secret=os.environ.get(routes.webhook_secret_env), payload=work.payload.to_json(),
                                      message=message)
    return None, None


def _record(session: Session, *, alert_id: int, route: str | None, outcome: Outcome | None) -> str:
    row = session.exec(select(AlertRow).where(AlertRow.id == alert_id).with_for_update()).one()
    now = utcnow()
    row.route = route
    if outcome is None:
        row.state, row.error = "skipped", "no route: none of the watch's alerts variables is set"
        outbox.record_attempt(session, alert_id=alert_id, status="skipped", route=None, error=row.error)
    elif outcome.status in ("sent", "found"):
        row.state, row.delivered_at, row.error = "delivered", now, None
        row.slack_channel_id = outcome.channel_id or row.slack_channel_id
        row.slack_ts = outcome.ts or row.slack_ts
    elif outcome.status == "retry":
        delay = retry_delay(failures=row.attempts, age_s=(now - row.created_at).total_seconds(),
                            retry_after_s=outcome.retry_after_s)
        row.error = outcome.error
        if delay is None:
            row.state = "failed"
        else:
            row.next_attempt_at = now + timedelta(seconds=delay)
    else:
        row.state, row.error = "failed", outcome.error
    if outcome is not None:
        outbox.record_attempt(session, alert_id=alert_id, status=outcome.status, route=route, error=outcome.error,
                              retry_after_s=outcome.retry_after_s)
    session.add(row)
    if row.state == "failed":
        log.warning("alert %s failed: %s", alert_id, row.error)
    return row.state


def next_due_in(alert_id: int) -> float | None:
    """Seconds until the alert's next attempt; None when it is over."""
    with session_scope() as session:
        row = session.get(AlertRow, alert_id)
        if row is None or row.state != "pending":
            return None
        return max((row.next_attempt_at - utcnow()).total_seconds(), 0.0)


def deliver_now(alert_ids: list[int], *, wait_s: float = 40.0) -> dict[int, str]:
    """Deliver *alert_ids* in this process (`turnout run`), retrying while the next attempt is due
    within *wait_s* seconds from now; what is still pending then stays in the outbox for workers.

    Returns:
        Each alert's state.
    """
    deadline = time.monotonic() + wait_s
    states: dict[int, str] = {}
    pending = list(alert_ids)
    while pending:
        for alert_id in list(pending):
            deliver_alert(alert_id)
            wait = next_due_in(alert_id)
            if wait is None:
                pending.remove(alert_id)
        if not pending:
            break
        waits = [w for w in (next_due_in(alert_id) for alert_id in pending) if w is not None]
        soonest = min(waits, default=0.0)
        if time.monotonic() + soonest > deadline:
            break
        time.sleep(soonest)
    with session_scope() as session:
        for alert_id in alert_ids:
            row = session.get(AlertRow, alert_id)
            states[alert_id] = row.state if row is not None else "missing"
    return states
