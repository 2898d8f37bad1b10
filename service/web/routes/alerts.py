"""The alert outbox: each alert's state, deliveries and attempts, its Slack message previewed, and a
Retry button on failed ones; read and retried by the functions of the API's `/api/v1/alerts`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from evals.alerts import AlertPayload
from evals.alerts.render import render as render_message
from service.api.deps import RowId, SessionDep
from service.api.routes import alerts as api_alerts
from service.settings import get_settings
from service.storage import alert_views
from service.web.auth import Editor, Viewer
from service.web.blockkit import blocks_html
from service.web.render import render

router = APIRouter()

PAGE = 100


@router.get("/alerts")
def alerts_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    """The latest alerts with their deliveries and attempts."""
    return render(request, "alerts.html", {"title": "Alerts", "user": user,
                                           "alerts": alert_views.alert_page(session, limit=PAGE).alerts})


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, session: SessionDep, user: Viewer, alert_id: RowId) -> Response:
    """One alert: its deliveries, attempts and its Block Kit message as Slack would show it."""
    alert = alert_views.alert(session, alert_id=alert_id)
    message = render_message(AlertPayload.from_json(alert.payload), public_url=get_settings().public_url)
    return render(request, "alert.html", {
        "title": f"Alert {alert_id}", "user": user, "alert": alert,
        "preview": blocks_html(message.blocks), "fallback": message.text})


@router.post("/alerts/{alert_id}/retry")
def retry(session: SessionDep, user: Editor, alert_id: RowId) -> Response:
    """Send a failed (or skipped) alert again, as `POST /api/v1/alerts/{id}/retry` does."""
    api_alerts.retry(session, actor=user.name, token_id=user.token_id, alert_id=alert_id)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
