"""A cycle's page, a run's per-case page (side by side with another run of its cycle), a case's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from service.api.deps import RowId, SessionDep
from service.storage import advice, casepage, runs
from service.storage.listing import MAX_ID
from service.storage.sidebyside import side_by_side
from service.storage.summary import cycle_summary
from service.web.auth import Viewer
from service.web.render import render

router = APIRouter()

PAGE_SIZE = 25


@router.get("/cycles/{cycle_id}")
def cycle_page(request: Request, session: SessionDep, user: Viewer, cycle_id: RowId) -> Response:
    """A cycle's runs: progress, primary score with its interval, latency, cost; its recommendation."""
    summary = cycle_summary(session, cycle_id=cycle_id)
    return render(request, "cycle.html", {"title": f"Cycle {cycle_id}", "user": user, "cycle": summary,
                                          "recommendation": advice.cycle_recommendation(session, cycle_id=cycle_id)})


def _partner(session: SessionDep, run_id: int) -> int | None:
    """The run shown beside *run_id*: production beside a candidate, the first candidate beside production."""
    run = runs.get_run(session, run_id=run_id)
    others = [r for r in runs.cycle_runs(session, cycle_id=run.cycle_id) if r.id != run_id]
    wanted = [r for r in others if (r.role == "production") != (run.role == "production")]
    chosen = (wanted or others)[:1]
    return chosen[0].id if chosen else None


@router.get("/runs/{run_id}")
def run_page(request: Request, session: SessionDep, user: Viewer, run_id: RowId, segment: str = "",
             failed: bool = False, changed: bool = False,
             cursor: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None) -> Response:
    """Per-case answers of every model of the run's cycle side by side, with scores and why, filtered and paged."""
    run = runs.get_run(session, run_id=run_id)
    page = side_by_side(session, run.cycle_id, segment=segment or None, failed_only=failed, changed_only=changed,
                        cursor=cursor, limit=PAGE_SIZE)
    return render(request, "run.html", {
        "title": f"Run {run_id}", "user": user, "run": run, "page": page,
        "tags": runs.cycle_tags(session, cycle_id=run.cycle_id),
        "segment": segment, "failed": failed, "changed": changed, "cursor": cursor,
        "has_reference": any(ref is not None for ref in page.reference_run_ids.values())})


@router.get("/runs/{run_id}/cases/{case_id}")
def case_page(request: Request, session: SessionDep, user: Viewer, run_id: RowId, case_id: str,
              against: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """The full prompt (long documents collapsed) and every repetition of both runs."""
    run = runs.get_run(session, run_id=run_id)
    other = against if against is not None else _partner(session, run_id)
    detail = casepage.case_detail(session, run_id=run_id, case_id=case_id, other_run_id=other)
    names = runs.model_names(session, runs.cycle_runs(session, cycle_id=run.cycle_id))
    other_run = runs.get_run(session, run_id=other) if other else None
    return render(request, "case.html", {
        "title": f"Case {case_id}", "user": user, "run": run, "detail": detail, "model": names.get(run.model_id),
        "other_model": names.get(other_run.model_id) if other_run else None, "other": other})
