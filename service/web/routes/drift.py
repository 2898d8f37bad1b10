"""A watch's drift page, and each model's Evidently report at its own route (framed, sandboxed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from jobs.drift import drift_document, snapshot_json
from service.api.deps import RowId, SessionDep
from service.storage import listing
from service.storage import watch_history as history
from service.storage.runs import NotFound
from service.web.auth import Viewer
from service.web.render import render

router = APIRouter()

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
        document = drift_document(watch=name, cycle_id=cycle)
    except NotFound as exc:
        if cycle is not None:
            raise
        missing = str(exc)
    timeline = history.drift_history(session, watch_name=name)
    shown = None
    if document:
        stored = [item for item in document["models"] if item["report_stored"]]
        shown = next((item for item in stored if item["model"] == model), stored[0] if stored else None)
    return render(request, "drift.html", {"title": f"Drift of {name}", "user": user, "watch": watch,
                                          "document": document, "missing": missing, "timeline": timeline,
                                          "shown": shown})


@router.get("/watches/{name}/drift/{cycle_id}/{model}/report")
def drift_report(request: Request, user: Viewer, name: str, cycle_id: RowId, model: str) -> Response:
    """The Evidently report rendered from its stored snapshot, under its own Content-Security-Policy."""
    from evals.drift.report import render_html  # Evidently takes seconds to import

    html = render_html(snapshot_json(watch=name, cycle_id=cycle_id, model=model))
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP, "X-Frame-Options": "SAMEORIGIN",
                                       "Cache-Control": "private, max-age=300"})
