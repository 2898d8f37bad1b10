"""The outbox as the API serves it: alerts newest first, each with its deliveries and attempts.

Like `service.storage.listing`, each is a pydantic model a route names as its `response_model`. Only
route names and receivers' answers appear; tokens and webhook URLs live in environment variables
and never here.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlmodel import Session, col, select

from service.storage import deliveries
from service.storage.alert_tables import AlertAttemptRow, AlertDeliveryRow, AlertRow
from service.storage.listing import MAX_PAGE
from service.storage.public import FrozenPublic, IsoDatetime
from service.storage.runs import InvalidState, NotFound
from service.storage.tables import WatchRow

AlertState = Literal["pending", "delivered", "failed", "skipped"]


class AlertAttemptPublic(FrozenPublic):
    """One attempt on one route: what the receiver answered."""

    route: str | None
    status: str
    """`sent`, `found` (already in the channel), `retry`, `failed`, `skipped`."""
    error: str | None
    retry_after_s: float | None
    created_at: IsoDatetime


class AlertDeliveryPublic(FrozenPublic):
    """The alert on one route: `slack` (exactly once), `slack_webhook`, `webhook` (at least once)."""

    route: str
    state: str
    attempts: int
    next_attempt_at: IsoDatetime
    error: str | None
    slack_channel_id: str | None
    slack_ts: str | None
    delivered_at: IsoDatetime | None


class AlertPublic(FrozenPublic):
    """An alert of the outbox, with its deliveries and every attempt, oldest first."""

    id: int
    watch: str
    cycle_id: int | None
    kind: str
    subject: str
    """What must change for an alert of the same kind to pass the watch's cooldown (e.g. verdict and target)."""
    state: str
    """`pending` while a route is, then `failed` if one failed, else `delivered`; `skipped`: no route set."""
    dedup_key: str
    """Carried in the Slack message's metadata and as the generic webhook's `Idempotency-Key`."""
    parent_id: int | None
    """The alert whose Slack thread this one replies in."""
    error: str | None
    created_at: IsoDatetime
    delivered_at: IsoDatetime | None
    payload: dict[str, Any]
    """What the message shows (`evals.alerts.AlertPayload`)."""
    deliveries: list[AlertDeliveryPublic]
    attempts: list[AlertAttemptPublic]


class AlertPagePublic(FrozenPublic):
    """Alerts, newest first; pass `next_cursor` as `cursor` for the older ones (None: no more)."""

    alerts: list[AlertPublic]
    next_cursor: int | None


def alert_page(session: Session, *, limit: int = 50, cursor: int | None = None, watch: str | None = None,
               state: AlertState | None = None) -> AlertPagePublic:
    """Alerts newest first, *limit* at a time (at most `MAX_PAGE`), optionally of one watch and in one state;
    *cursor* is the previous page's `next_cursor`."""
    limit = min(limit, MAX_PAGE)
    query = select(AlertRow).order_by(col(AlertRow.id).desc()).limit(limit + 1)
    if cursor is not None:
        query = query.where(col(AlertRow.id) < cursor)
    if watch is not None:
        query = query.join(WatchRow, col(WatchRow.id) == AlertRow.watch_id).where(WatchRow.name == watch)
    if state is not None:
        query = query.where(AlertRow.state == state)
    rows = list(session.exec(query).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return AlertPagePublic(alerts=_publics(session, rows), next_cursor=rows[-1].id if more and rows else None)


def alert(session: Session, *, alert_id: int) -> AlertPublic:
    """Alert *alert_id*. Raises NotFound when there is none."""
    row = session.get(AlertRow, alert_id)
    if row is None:
        raise NotFound(f"no alert with id {alert_id}; GET /api/v1/alerts lists them")
    return _publics(session, [row])[0]


def retry_alert(session: Session, *, alert_id: int) -> AlertPublic:
    """Make failed (or skipped) alert *alert_id* pending again, due now; only its failed routes are sent again.

    Raises:
        NotFound: there is no such alert.
        InvalidState: it is pending or delivered (nothing to retry).
    """
    row = session.get(AlertRow, alert_id)
    if row is None:
        raise NotFound(f"no alert with id {alert_id}; GET /api/v1/alerts lists them")
    if row.state not in ("failed", "skipped"):
        raise InvalidState(f"alert {alert_id} is {row.state}; only failed or skipped alerts are retried")
    deliveries.retry(session, alert_id=alert_id)
    session.flush()
    return _publics(session, [row])[0]


def _publics(session: Session, rows: list[AlertRow]) -> list[AlertPublic]:
    ids = [row.id or 0 for row in rows]
    names = dict(session.exec(select(WatchRow.id, WatchRow.name)
                              .where(col(WatchRow.id).in_({row.watch_id for row in rows}))).all()) if rows else {}
    routes = deliveries.of_alerts(session, alert_ids=ids)
    tries: dict[int, list[AlertAttemptRow]] = {alert_id: [] for alert_id in ids}
    if ids:
        for attempt in session.exec(select(AlertAttemptRow).where(col(AlertAttemptRow.alert_id).in_(ids))
                                    .order_by(col(AlertAttemptRow.id))).all():
            tries[attempt.alert_id].append(attempt)
    return [AlertPublic(id=row.id or 0, watch=names.get(row.watch_id, "?"), cycle_id=row.cycle_id, kind=row.kind,
                        subject=row.subject,
                        state=row.state, dedup_key=row.dedup_key, parent_id=row.parent_id, error=row.error,
                        created_at=row.created_at, delivered_at=row.delivered_at, payload=row.payload,
                        deliveries=[_delivery(d) for d in routes[row.id or 0]],
                        attempts=[AlertAttemptPublic.model_validate(a, from_attributes=True)
                                  for a in tries[row.id or 0]])
            for row in rows]


def _delivery(row: AlertDeliveryRow) -> AlertDeliveryPublic:
    return AlertDeliveryPublic.model_validate(row, from_attributes=True)
