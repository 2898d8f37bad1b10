"""Delivering outbox rows: claim an alert's due routes, send it through each, record each answer.

`jobs.deliver_alerts` calls `deliver_alert` on workers; `turnout run` calls `deliver_now` before it
exits. An alert fans out to every route whose variable is set (bot token, incoming webhook, generic
webhook), each a delivery of its own (`service.storage.deliveries`). An attempt holds its route for
`lease_s` (the next attempt moves there), so two deliveries never send one route at once; one that
dies leaves the route due again after that, and the reconciler hands it to the queue. Every bot
attempt after the first looks for the message before posting it again.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta

from evals.alerts import AlertPayload, AlertRoutes, SlackMessage, render
from evals.recipe import StoredWatch
from jobs.alerts.routes import (
    Outcome,
    SlackTarget,
    post_to_slack,
    post_to_slack_webhook,
    post_to_webhook,
)
from service.settings import get_settings
from service.storage import deliveries
from service.storage.alert_tables import AlertRow
from service.storage.db import session_scope
from service.storage.deliveries import Claimed
from service.storage.tables import WatchRow, utcnow

log = logging.getLogger(__name__)


def deliver_alert(alert_id: int) -> str | None:
    """Deliver one alert's due routes; returns its state afterwards (None when it was not taken)."""
    settings = get_settings()
    hold_s = _hold_s(settings.lease_s)
    with session_scope() as session:
        alert = session.get(AlertRow, alert_id)
        watch = session.get(WatchRow, alert.watch_id) if alert is not None else None
        routes = StoredWatch.model_validate(watch.spec).alerts if watch is not None else AlertRoutes()
        taken = deliveries.claim(session, alert_id=alert_id, routes=routes_of(routes),
                                 hold=timedelta(seconds=hold_s))
        if taken is None:
            return None
        state = taken.alert.state
        key, created_at = taken.alert.dedup_key, taken.alert.created_at
        payload = AlertPayload.from_json(taken.alert.payload)
    message = render(payload, public_url=settings.public_url)
    for claimed in taken.deliveries:  # the bot first: its call ends inside the hold, whatever the others take
        outcome = _send(claimed, routes=routes, key=key, created_at=created_at, payload=payload, message=message,
                        api_url=settings.slack_api_url, timeout_s=hold_s / 3)
        with session_scope() as session:
            state = deliveries.record(session, delivery_id=claimed.delivery_id, status=outcome.status,
                                      error=outcome.error, retry_after_s=outcome.retry_after_s,
                                      channel_id=outcome.channel_id, ts=outcome.ts)
        if outcome.status == "failed":
            log.warning("alert %s on route %s failed: %s", alert_id, claimed.route, outcome.error)
    return state


def _hold_s(lease_s: float) -> float:
    # The Slack call's timeout is a third of the hold, so it is over before another delivery may look.
    return max(lease_s, 3.0)


def routes_of(routes: AlertRoutes) -> list[str]:
    """The routes an alert of a watch with *routes* goes out by here: each whose variable is set."""
    found = []
    if os.environ.get(routes.slack_token_env):
        found.append("slack")
    if os.environ.get(routes.slack_webhook_env):
        found.append("slack_webhook")
    if os.environ.get(routes.webhook_url_env):
        found.append("webhook")
    return found


def _send(claimed: Claimed, *, routes: AlertRoutes, key: str, created_at: datetime, payload: AlertPayload,
          message: SlackMessage, api_url: str, timeout_s: float) -> Outcome:
    variable = {"slack": routes.slack_token_env, "slack_webhook": routes.slack_webhook_env,
                "webhook": routes.webhook_url_env}.get(claimed.route)
    secret = os.environ.get(variable) if variable else None
    if not secret:  # unset since the alert fanned out: an error to fix, said by name, retried on the schedule
        return Outcome(status="retry", error=f"{variable or claimed.route} is not set here")
    if claimed.route == "slack":
        target = SlackTarget(key=key, channel=routes.slack_channel, channel_id=claimed.slack_channel_id,
                             created_at=created_at, may_exist=claimed.may_exist, thread_ts=claimed.thread_ts)
        return post_to_slack(token=secret, api_url=api_url, target=target, message=message, timeout_s=timeout_s)
    if claimed.route == "slack_webhook":
        return post_to_slack_webhook(url=secret, message=message)
    return post_to_webhook(url=secret, key=key, secret=os.environ.get(routes.webhook_secret_env),
                           payload=payload.to_json(), message=message)


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
