"""The alert outbox: each alert's state and delivery attempts, and its Slack message previewed."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from evals.alerts import AlertPayload
from evals.alerts.render import render as render_message
from service.api.deps import RowId, SessionDep
from service.settings import get_settings
from service.storage import alert_reads
from service.web.auth import Viewer
from service.web.blockkit import blocks_html
from service.web.render import render

router = APIRouter()

PAGE = 100


@router.get("/alerts")
def alerts_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    """The latest alerts with their attempts."""
    return render(request, "alerts.html", {"title": "Alerts", "user": user,
                                           "alerts": alert_reads.alerts_with_watches(session, limit=PAGE)})


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, session: SessionDep, user: Viewer, alert_id: RowId) -> Response:
    """One alert: its attempts and its Block Kit message as Slack would show it."""
    row = alert_reads.get_alert(session, alert_id=alert_id)
    message = render_message(AlertPayload.from_json(row.payload), public_url=get_settings().public_url)
    return render(request, "alert.html", {
        "title": f"Alert {alert_id}", "user": user, "alert": row,
        "attempts": alert_reads.attempts(session, alert_ids=[alert_id])[alert_id],
        "preview": blocks_html(message.blocks), "fallback": message.text})
