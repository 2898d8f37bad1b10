"""A watch's drift page, and each model's Evidently report at its own route (framed, sandboxed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from service.api.deps import RowId, SessionDep
from service.settings import get_settings
from service.storage import history, listing
from service.storage.blobs import blob_store
from service.storage.runs import NotFound
from service.web.auth import Viewer
from service.web.render import render

router = APIRouter()

TIMELINE = 60
"""Drift checks in the fingerprint timeline: the latest ones."""

REPORT_CSP = ("sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
              "style-src 'unsafe-inline'; img-src data:; font-src data:; frame-ancestors 'self'")
"""Evidently's HTML runs inline scripts and its bundle: allowed only in an opaque-origin sandbox that can
reach nothing (no network, no cookies, no parent page), and only framed by the dashboard itself."""


@router.get("/watches/{name}/drift")
def drift_page(request: Request, session: SessionDep, user: Viewer, name: str,
               cycle: Annotated[int | None, Query(ge=1)] = None, model: str | None = None) -> Response:
    """The paired drift summary of a cycle per model, the fingerprint timeline, and the report frame."""
    watch = listing.watch(session, name=name)
    document: dict[str, Any] | None = None
    missing: str | None = None
    try:
        current = history.drift_current(session, name, cycle_id=cycle)
    except NotFound as exc:
        if cycle is not None:
            raise
        missing = str(exc)
    else:
        document = {"cycle_id": current.cycle_id, "models": [
            {**current.documents.get(check.model, {}), "model": check.model, "verdict": check.verdict,
             "reasons": check.reasons, "report_stored": check.report_stored} for check in current.checks]}
    timeline = list(reversed(history.drift_history(session, name, limit=TIMELINE).checks))
    shown = None
    if document:
        stored = [item for item in document["models"] if item["report_stored"]]
        shown = next((item for item in stored if item["model"] == model), stored[0] if stored else None)
    return render(request, "drift.html", {"title": f"Drift of {name}", "user": user, "watch": watch,
                                          "document": document, "missing": missing, "timeline": timeline,
                                          "shown": shown})


@router.get("/watches/{name}/drift/{cycle_id}/{model}/report")
def drift_report(request: Request, session: SessionDep, user: Viewer, name: str, cycle_id: RowId,
                 model: str) -> Response:
    """The Evidently report rendered from its stored snapshot, under its own Content-Security-Policy."""
    from evals.drift.report import render_html  # Evidently takes seconds to import

    snapshot = history.drift_snapshot(session, blob_store(get_settings()), name, cycle_id=cycle_id, model=model)
    html = render_html(snapshot.decode("utf-8"))
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP, "X-Frame-Options": "SAMEORIGIN",
                                       "Cache-Control": "private, max-age=300"})
