"""The alert outbox over HTTP: viewers read alerts with their deliveries and attempts; editors retry
a failed one (as `turnout alerts list` and `turnout alerts retry ID` do).

Retrying is an editor's, like triggering a cycle: it sends an alert that exists again through the
routes the watch already has. Changing where alerts go (`alerts:` of a watch) stays a config write.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from service.api.deps import Cursor, EditorToken, RowId, SessionDep, require
from service.api.errors import problem_responses
from service.storage import access, alert_views
from service.storage.alert_views import AlertPagePublic, AlertPublic, AlertState
from service.storage.listing import MAX_PAGE

log = logging.getLogger(__name__)

router = APIRouter(tags=["alerts"], responses=problem_responses(401, 403, 422, 503))


@router.get("/alerts", response_model=AlertPagePublic, dependencies=[Depends(require("viewer"))])
def list_alerts(session: SessionDep,
                limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")] = 50,
                cursor: Cursor = None,
                watch: Annotated[str | None, Query(description="only alerts of this watch")] = None,
                state: Annotated[AlertState | None, Query(description="only alerts in this state")] = None,
                ) -> AlertPagePublic:
    """Alerts, newest first, each with its deliveries (one per route) and every attempt."""
    return alert_views.alert_page(session, limit=limit, cursor=cursor, watch=watch, state=state)


@router.get("/alerts/{alert_id}", response_model=AlertPublic, dependencies=[Depends(require("viewer"))],
            responses=problem_responses(404))
def get_alert(session: SessionDep, alert_id: RowId) -> AlertPublic:
    """One alert with its deliveries and attempts."""
    return alert_views.alert(session, alert_id=alert_id)


@router.post("/alerts/{alert_id}/retry", response_model=AlertPublic, responses=problem_responses(404, 409))
def retry_alert(session: SessionDep, token: EditorToken, alert_id: RowId) -> AlertPublic:
    """Send a failed (or skipped) alert again: its failed routes are due now, those that have it are not
    sent again; workers deliver it (409 when it is pending or delivered)."""
    return retry(session, actor=token.name, token_id=token.id, alert_id=alert_id)


def retry(session: Session, *, actor: str, token_id: int | None, alert_id: int) -> AlertPublic:
    """Retry alert *alert_id* for *actor*, record it in the audit log, commit and hand it to the workers
    (the API's `POST /alerts/{id}/retry` and the dashboard's Retry button).

    Raises:
        NotFound: there is no such alert.
        InvalidState: it is pending or delivered.
    """
    retried = alert_views.retry_alert(session, alert_id=alert_id)
    access.record(session, actor=actor, token_id=token_id, action="alert.retry", target=f"alert:{alert_id}")
    session.commit()
    from jobs.alerts.tasks import enqueue_alerts  # imports the Celery app: only when an alert is retried

    try:
        enqueue_alerts([alert_id])
    except Exception as exc:  # broker down: the reconciler hands the due alert over later
        log.warning("could not enqueue alert %s (%s); the reconciler will", alert_id, exc)
    return retried
