"""Reads of the alert outbox for people: alerts with their delivery attempts."""

from __future__ import annotations

from sqlmodel import Session, col, select

from service.storage.alert_tables import AlertAttemptRow, AlertRow
from service.storage.outbox import list_alerts
from service.storage.runs import NotFound
from service.storage.tables import WatchRow


def alerts_with_watches(session: Session, *, limit: int = 100) -> list[tuple[AlertRow, str, list[AlertAttemptRow]]]:
    """The latest alerts, newest first, each with its watch's name and its delivery attempts."""
    rows = list_alerts(session, limit=limit)
    names = {}
    if rows:
        names = {watch.id: watch.name for watch in session.exec(
            select(WatchRow).where(col(WatchRow.id).in_({row.watch_id for row in rows}))).all()}
    tried = attempts(session, alert_ids=[row.id or 0 for row in rows])
    return [(row, names.get(row.watch_id, "?"), tried[row.id or 0]) for row in rows]


def attempts(session: Session, *, alert_ids: list[int]) -> dict[int, list[AlertAttemptRow]]:
    """Every delivery attempt of the alerts *alert_ids*, oldest first, by alert."""
    out: dict[int, list[AlertAttemptRow]] = {alert_id: [] for alert_id in alert_ids}
    if alert_ids:
        for row in session.exec(select(AlertAttemptRow).where(col(AlertAttemptRow.alert_id).in_(alert_ids))
                                .order_by(col(AlertAttemptRow.id))).all():
            out[row.alert_id].append(row)
    return out


def get_alert(session: Session, *, alert_id: int) -> AlertRow:
    """Alert *alert_id*. Raises NotFound when there is none."""
    row = session.get(AlertRow, alert_id)
    if row is None:
        raise NotFound(f"no alert with id {alert_id}; `turnout alerts list` shows them")
    return row
