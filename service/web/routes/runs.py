"""A cycle's page (and its Cancel button), a run's per-case page (side by side with another run of its cycle,
its button to pin it as its model's drift reference, its Rescore form and its "compare with…" picker), the
paired comparison of two runs, a case's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from evals.errors import ConfigError
from service.api.deps import RowId, SessionDep
from service.storage import access, advice, casepage, drift, listing, runs
from service.storage.listing import MAX_ID
from service.storage.public import RunProgressPublic
from service.storage.sidebyside import side_by_side
from service.storage.summary import cycle_summary
from service.web.auth import Editor, Viewer
from service.web.render import render

router = APIRouter()

PAGE_SIZE = 25
COMPARE_CYCLES = 20
"""The "compare with…" picker offers the runs of the watch's latest cycles, this many."""


@router.get("/cycles/{cycle_id}")
def cycle_page(request: Request, session: SessionDep, user: Viewer, cycle_id: RowId, advised: bool = False
               ) -> Response:
    """A cycle's runs: progress, primary score with its interval, latency, cost; its recommendation."""
    summary = cycle_summary(session, cycle_id=cycle_id)
    return render(request, "cycle.html", {"title": f"Cycle {cycle_id}", "user": user, "cycle": summary,
                                          "advised": advised,
                                          "recommendation": advice.cycle_recommendation(session, cycle_id=cycle_id)})


@router.post("/cycles/{cycle_id}/cancel")
def cancel(session: SessionDep, user: Editor, cycle_id: RowId) -> Response:
    """Cancel a queued or running cycle, as `turnout cancel` does: runs stop at their next batch."""
    runs.cancel_cycle(session, cycle_id=cycle_id)
    access.record(session, actor=user.name, token_id=user.token_id, action="cycle.cancel", target=f"cycle:{cycle_id}")
    session.commit()
    return RedirectResponse(f"/cycles/{cycle_id}", status_code=303)


@router.post("/cycles/{cycle_id}/advise")
def advise_again(session: SessionDep, user: Editor, cycle_id: RowId) -> Response:
    """Advise the cycle again with the watch's current policy and models, from the stored scores, as
    `turnout advise WATCH --cycle ID --recompute` does (an announcement it changes is alerted as usual)."""
    from jobs.advice import advise_cycle_again  # the statistics stack: imported only when asked for

    advise_cycle_again(cycle_id)
    access.record(session, actor=user.name, token_id=user.token_id, action="recommendation.recompute",
                  target=f"cycle:{cycle_id}")
    session.commit()
    return RedirectResponse(f"/cycles/{cycle_id}?advised=true", status_code=303)


def _partner(session: SessionDep, run_id: int) -> int | None:
    """The run shown beside *run_id*: production beside a candidate, the first candidate beside production."""
    run = runs.get_run(session, run_id=run_id)
    others = [r for r in runs.cycle_runs(session, cycle_id=run.cycle_id) if r.id != run_id]
    wanted = [r for r in others if (r.role == "production") != (run.role == "production")]
    chosen = (wanted or others)[:1]
    return chosen[0].id if chosen else None


def _comparable(session: SessionDep, run_id: int, watch: str) -> list[tuple[int, RunProgressPublic]]:
    """Finished runs of the watch's latest cycles besides *run_id*, newest cycle first: (cycle id, run)."""
    cycles = listing.cycle_page(session, limit=COMPARE_CYCLES, watch=watch).cycles
    return [(cycle.cycle_id, run) for cycle in cycles for run in cycle.runs
            if run.run_id != run_id and run.state == "finished"]


@router.get("/runs/{run_id}")
def run_page(request: Request, session: SessionDep, user: Viewer, run_id: RowId, segment: str = "",
             failed: bool = False, changed: bool = False, pinned: bool = False,
             rescored: Annotated[int | None, Query(ge=0)] = None,
             cursor: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None) -> Response:
    """Per-case answers of every model of the run's cycle side by side, with scores and why, filtered and paged."""
    run = runs.get_run(session, run_id=run_id)
    page = side_by_side(session, run.cycle_id, segment=segment or None, failed_only=failed, changed_only=changed,
                        cursor=cursor, limit=PAGE_SIZE)
    return render(request, "run.html", {
        "title": f"Run {run_id}", "user": user, "run": run, "page": page, "pinned": pinned,
        "model": runs.model_names(session, [run]).get(run.model_id, ""),
        "tags": runs.cycle_tags(session, cycle_id=run.cycle_id),
        "segment": segment, "failed": failed, "changed": changed, "cursor": cursor, "rescored": rescored,
        "comparable": _comparable(session, run_id, page.watch) if run.state == "finished" else [],
        "scorer_keys": [spec.key for spec in runs.recipe(runs.get_cycle(session, cycle_id=run.cycle_id)).scorers],
        "partner": _partner(session, run_id),
        "has_reference": any(ref is not None for ref in page.reference_run_ids.values())})


@router.get("/runs/{run_id}/compare")
def compare_page(request: Request, session: SessionDep, user: Viewer, run_id: RowId,
                 against: Annotated[int, Query(ge=1, le=MAX_ID)],
                 scorer: Annotated[str, Query(max_length=2000)] = "") -> Response:
    """This run (B) against another (A), paired on their cases, overall and per segment, as `turnout compare
    A B` prints it (and stores it)."""
    from jobs.compare import compare_runs  # the statistics stack: imported only when asked for

    comparison = compare_runs(run_a=against, run_b=run_id, scorer=scorer or None).public()
    pair = [runs.get_run(session, run_id=against), runs.get_run(session, run_id=run_id)]
    names = runs.model_names(session, pair)
    return render(request, "compare.html", {
        "title": f"Run {run_id} against run {against}", "user": user, "comparison": comparison,
        "model_a": names.get(pair[0].model_id, ""), "model_b": names.get(pair[1].model_id, ""),
        "segments": sorted(comparison.segments.items())})


@router.post("/runs/{run_id}/rescore")
def rescore(session: SessionDep, user: Editor, run_id: RowId, scorers: Annotated[str, Form(max_length=4000)] = ""
            ) -> Response:
    """Score the run's stored completions again, one scorer spec per line, as `turnout rescore` does."""
    from jobs.rescore import rescore_run

    specs = [line.strip() for line in scorers.splitlines() if line.strip()]
    if not specs:
        raise ConfigError("name at least one scorer to rescore with, one per line: NAME or NAME:{json options}",
                          field="scorers")
    done = rescore_run(run_id=run_id, scorers=specs)
    access.record(session, actor=user.name, token_id=user.token_id, action="run.rescore", target=f"run:{run_id}",
                  detail={"scorers": done.scorers, "written": done.written})
    session.commit()
    return RedirectResponse(f"/runs/{run_id}?rescored={done.written}", status_code=303)


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


@router.post("/runs/{run_id}/pin")
def pin(session: SessionDep, user: Editor, run_id: RowId) -> Response:
    """Pin the run as its model's drift reference in its watch, as `turnout drift WATCH --pin RUN_ID` does."""
    run = runs.get_run(session, run_id=run_id)
    watch = runs.recipe(runs.get_cycle(session, cycle_id=run.cycle_id)).watch.name
    drift.pin_reference(session, watch_name=watch, run_id=run_id)
    access.record(session, actor=user.name, token_id=user.token_id, action="drift.pin", target=f"run:{run_id}",
                  detail={"watch": watch})
    session.commit()
    return RedirectResponse(f"/runs/{run_id}?pinned=true", status_code=303)
