"""What the analysis concluded per watch: recommendations and drift checks, current and past, and the
drift reports (the stored Evidently snapshot as JSON, or rendered as HTML)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from service.api.deps import Cursor, SessionDep, require
from service.api.errors import problem, problem_responses
from service.settings import get_settings
from service.storage import advice, history
from service.storage.blobs import blob_store
from service.storage.history import DriftCyclePublic, DriftPagePublic, RecommendationPagePublic
from service.storage.listing import MAX_ID, MAX_PAGE, live_watch
from service.storage.public import RecommendationPublic

router = APIRouter(dependencies=[Depends(require("viewer"))], responses=problem_responses(401, 403, 422, 503))

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")]
CycleId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="that cycle (default: the latest)")]
Model = Annotated[str | None, Query(max_length=200, description="only this model")]
ReportModel = Annotated[str, Query(min_length=1, max_length=200, description="the model whose report")]


@router.get("/watches/{name}/recommendation", response_model=RecommendationPublic, tags=["recommendations"],
            responses=problem_responses(404))
def current_recommendation(session: SessionDep, name: str, cycle: CycleId = None) -> RecommendationPublic:
    """The watch's latest recommendation (or the one made after *cycle*), as `turnout advise --json`."""
    live_watch(session, name=name)
    return advice.recommendation(session, watch_name=name, cycle_id=cycle)


@router.get("/watches/{name}/recommendations", response_model=RecommendationPagePublic, tags=["recommendations"],
            responses=problem_responses(404))
def recommendation_history(session: SessionDep, name: str, cursor: Cursor = None,
                           limit: Limit = 50) -> RecommendationPagePublic:
    """The watch's recommendations, newest cycle first."""
    return history.recommendation_history(session, name, cursor=cursor, limit=limit)


@router.get("/watches/{name}/drift", response_model=DriftCyclePublic, tags=["drift"], responses=problem_responses(404))
def current_drift(session: SessionDep, name: str, cycle: CycleId = None, model: Model = None) -> DriftCyclePublic:
    """The drift checks of the watch's latest checked cycle (or of *cycle*), as `turnout drift --json`."""
    return history.drift_current(session, name, cycle_id=cycle, model=model)


@router.get("/watches/{name}/drift/history", response_model=DriftPagePublic, tags=["drift"],
            responses=problem_responses(404))
def drift_history(session: SessionDep, name: str, model: Model = None, cursor: Cursor = None,
                  limit: Limit = 50) -> DriftPagePublic:
    """The watch's drift checks, newest first."""
    return history.drift_history(session, name, model=model, cursor=cursor, limit=limit)


def _snapshot(session: SessionDep, name: str, cycle: int | None, model: str) -> bytes:
    found = history.drift_current(session, name, cycle_id=cycle, model=model).cycle_id
    return history.drift_snapshot(session, blob_store(get_settings()), name, cycle_id=found, model=model)


_JSON: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {"schema": {"type": "object"}}},
                                                "description": "The Evidently snapshot"}}


@router.get("/watches/{name}/drift/snapshot", response_class=Response, tags=["drift"],
            responses={**_JSON, **problem_responses(404)})
def drift_snapshot(session: SessionDep, name: str, model: ReportModel, cycle: CycleId = None) -> Response:
    """The stored Evidently snapshot of *model*'s drift check (latest cycle, or *cycle*), as JSON."""
    return Response(_snapshot(session, name, cycle, model), media_type="application/json")


@router.get("/watches/{name}/drift/report", response_class=HTMLResponse, tags=["drift"],
            responses=problem_responses(404))
def drift_report(session: SessionDep, name: str, model: ReportModel, cycle: CycleId = None) -> Response:
    """*model*'s Evidently drift report (latest cycle, or *cycle*), rendered as HTML from its stored snapshot."""
    snapshot = _snapshot(session, name, cycle, model).decode()
    try:
        from evals.drift.report import render_html  # Evidently takes seconds to import
    except ImportError as exc:
        return problem(503, f"rendering reports needs Evidently (pip install 'turnout[drift]'): {exc}",
                       type_="report-unavailable")
    return HTMLResponse(render_html(snapshot))
