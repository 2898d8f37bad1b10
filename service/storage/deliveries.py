"""An alert's deliveries: one per route, each with its own state, retries and attempts.

An alert fans out to every route configured where it is first delivered (bot token, incoming
webhook, generic webhook). Each route is claimed, retried and finished on its own, so Slack down for
hours never sends the webhook that has the message a second time; the alert's own state is the sum
of its deliveries' (`pending` while one is, then `failed` if one failed, else `delivered`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from evals.alerts.schedule import retry_delay
from service.storage.alert_tables import AlertAttemptRow, AlertDeliveryRow, AlertRow
from service.storage.tables import utcnow

ROUTES = ("slack", "slack_webhook", "webhook")
"""Every route, in the order a delivery sends them: the bot first, so its call ends well inside the hold."""

PARENT_WAIT = timedelta(seconds=5)
"""A thread reply whose first message is not out yet waits this long, then looks again."""


@dataclass(frozen=True)
class Claimed:
    """One route of an alert, taken for one attempt."""

    delivery_id: int
    route: str
    may_exist: bool
    """An earlier attempt may have posted it: a `slack` delivery looks before posting."""
    slack_channel_id: str | None
    """The channel's ID when known (this delivery's, or the watch's last one)."""
    thread_ts: str | None
    """The parent message's ts, for a reply in a thread (the bot route only)."""


@dataclass(frozen=True)
class Claim:
    """What one delivery of an alert took: its row and the routes due now."""

    alert: AlertRow
    deliveries: list[Claimed]


def claim(session: Session, *, alert_id: int, routes: Sequence[str], hold: timedelta,
          now: datetime | None = None) -> Claim | None:
    """Take the due routes of a pending alert for one attempt each: their next attempt moves to the end
    of *hold*, so no other delivery takes them meanwhile.

    Args:
        session: The transaction (the alert row is locked).
        alert_id: The alert.
        routes: The routes configured here (`ROUTES` order); used only at the first delivery, which makes
            one delivery row each; with none, the alert is `skipped`.
        hold: How long an attempt keeps its route.
        now: The time (tests).

    Returns:
        The claim (possibly with no route due: a thread reply waiting for its parent), or None when the
        alert is not due or is over.
    """
    now = now or utcnow()
    row = session.exec(select(AlertRow).where(AlertRow.id == alert_id).with_for_update()).first()
    if row is None or row.state != "pending" or row.next_attempt_at > now:
        return None
    deliveries = _deliveries(session, alert_id=alert_id)
    if not deliveries:
        if not routes:
            row.state, row.error = "skipped", "no route: none of the watch's alerts variables is set"
            session.add(AlertAttemptRow(alert_id=alert_id, status="skipped", error=row.error))
            session.add(row)
            return Claim(alert=row, deliveries=[])
        deliveries = [AlertDeliveryRow(alert_id=alert_id, route=route, created_at=now, next_attempt_at=now)
                      for route in sorted(set(routes), key=ROUTES.index)]
        session.add_all(deliveries)
        row.route = ",".join(d.route for d in deliveries)
        session.flush()
    taken: list[Claimed] = []
    for delivery in deliveries:
        if delivery.state != "pending" or delivery.next_attempt_at > now:
            continue
        thread_ts = None
        if delivery.route == "slack" and row.parent_id is not None:
            parent = _parent_slack(session, parent_id=row.parent_id)
            if parent == "pending":  # not an attempt: wait for the thread's first message
                delivery.next_attempt_at = now + PARENT_WAIT
                session.add(delivery)
                continue
            thread_ts = parent
        delivery.attempts += 1
        delivery.next_attempt_at = now + hold
        row.attempts += 1
        session.add(delivery)
        taken.append(Claimed(delivery_id=delivery.id or 0, route=delivery.route, may_exist=delivery.attempts > 1,
                             slack_channel_id=delivery.slack_channel_id or _channel_id(session, row=row),
                             thread_ts=thread_ts))
    _sum_up(row, deliveries, now=now)
    session.add(row)
    session.flush()
    return Claim(alert=row, deliveries=taken)


def record(session: Session, *, delivery_id: int, status: str, error: str | None = None,
           retry_after_s: float | None = None, channel_id: str | None = None, ts: str | None = None,
           now: datetime | None = None) -> str:
    """Write what one attempt came to, and the alert's state that follows.

    Args:
        session: The transaction.
        delivery_id: The route's delivery.
        status: `sent` or `found` (delivered), `retry` (again after the backoff of
            `evals.alerts.schedule.retry_delay`, or `failed` once that gives up), `failed`.
        error: The receiver's error (never a secret).
        retry_after_s: The receiver's `Retry-After`.
        channel_id: The Slack channel's ID from the answer.
        ts: The message's ts.
        now: The time (tests).

    Returns:
        The alert's state.
    """
    now = now or utcnow()
    # The alert's row is locked first, as `claim` does, so the two never wait for each other.
    alert_id = session.exec(select(AlertDeliveryRow.alert_id).where(AlertDeliveryRow.id == delivery_id)).one()
    row = session.exec(select(AlertRow).where(AlertRow.id == alert_id).with_for_update()).one()
    delivery = session.exec(select(AlertDeliveryRow).where(AlertDeliveryRow.id == delivery_id)
                            .with_for_update()).one()
    if status in ("sent", "found"):
        delivery.state, delivery.delivered_at, delivery.error = "delivered", now, None
        delivery.slack_channel_id = channel_id or delivery.slack_channel_id
        delivery.slack_ts = ts or delivery.slack_ts
    elif status == "retry":
        delay = retry_delay(failures=delivery.attempts, age_s=(now - delivery.created_at).total_seconds(),
                            retry_after_s=retry_after_s)
        delivery.error = error
        if delay is None:
            delivery.state = "failed"
        else:
            delivery.next_attempt_at = now + timedelta(seconds=delay)
    else:
        delivery.state, delivery.error = "failed", error
    session.add(delivery)
    session.add(AlertAttemptRow(alert_id=row.id or 0, delivery_id=delivery_id, route=delivery.route, status=status,
                                error=error, retry_after_s=retry_after_s, created_at=now))
    session.flush()
    _sum_up(row, _deliveries(session, alert_id=row.id or 0), now=now)
    session.add(row)
    return row.state


def retry(session: Session, *, alert_id: int) -> AlertRow | None:
    """Make a failed (or skipped) alert pending again, due now: only its failed routes are sent again
    (a skipped one fans out afresh). None when there is no such alert."""
    row = session.get(AlertRow, alert_id)
    if row is None:
        return None
    if row.state not in ("failed", "skipped"):
        return row
    now = utcnow()
    deliveries = _deliveries(session, alert_id=alert_id)
    for delivery in deliveries:
        if delivery.state == "failed":  # the give-up clock starts again; the history is still searched from the alert
            delivery.state, delivery.next_attempt_at, delivery.created_at = "pending", now, now
            session.add(delivery)
    row.state, row.next_attempt_at = "pending", now
    if deliveries:
        _sum_up(row, deliveries, now=now)
    else:
        row.error = None
    session.add(row)
    return row


def of_alerts(session: Session, *, alert_ids: Sequence[int]) -> dict[int, list[AlertDeliveryRow]]:
    """The deliveries of *alert_ids*, in route order, by alert."""
    found: dict[int, list[AlertDeliveryRow]] = {alert_id: [] for alert_id in alert_ids}
    if alert_ids:
        for delivery in session.exec(select(AlertDeliveryRow).where(
                col(AlertDeliveryRow.alert_id).in_(list(alert_ids)))).all():
            found[delivery.alert_id].append(delivery)
    for rows in found.values():
        rows.sort(key=lambda d: ROUTES.index(d.route) if d.route in ROUTES else len(ROUTES))
    return found


def _deliveries(session: Session, *, alert_id: int) -> list[AlertDeliveryRow]:
    return of_alerts(session, alert_ids=[alert_id])[alert_id]


def _sum_up(row: AlertRow, deliveries: list[AlertDeliveryRow], *, now: datetime) -> None:
    pending = [d for d in deliveries if d.state == "pending"]
    if pending:
        row.state, row.next_attempt_at = "pending", min(d.next_attempt_at for d in pending)
    elif any(d.state == "failed" for d in deliveries):
        row.state = "failed"
    else:
        row.state, row.delivered_at = "delivered", row.delivered_at or now
    errors = [f"{d.route}: {d.error}" for d in deliveries if d.error]
    row.error = "; ".join(errors) if errors else None
    slack = next((d for d in deliveries if d.route == "slack"), None)
    if slack is not None:
        row.slack_channel_id = slack.slack_channel_id or row.slack_channel_id
        row.slack_ts = slack.slack_ts or row.slack_ts


def _parent_slack(session: Session, *, parent_id: int) -> str | None:
    """The thread's first message: its ts once the bot posted it, "pending" while it may still be posted,
    None when it never will be (the reply then posts as a message of its own)."""
    parent = session.get(AlertRow, parent_id)
    if parent is None:
        return None
    slack = _deliveries(session, alert_id=parent_id)
    bot = next((d for d in slack if d.route == "slack"), None)
    if bot is None:
        return "pending" if parent.state == "pending" and not slack else parent.slack_ts
    if bot.state == "pending":
        return "pending"
    return bot.slack_ts if bot.state == "delivered" else None


def _channel_id(session: Session, *, row: AlertRow) -> str | None:
    """The bot channel's ID as a Slack answer gave it last for this watch (`conversations.*` need it)."""
    return session.exec(select(AlertRow.slack_channel_id).where(AlertRow.watch_id == row.watch_id,
                                                                col(AlertRow.slack_channel_id).is_not(None))
                        .order_by(col(AlertRow.id).desc()).limit(1)).first()
