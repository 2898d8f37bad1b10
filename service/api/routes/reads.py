"""What a viewer may read: watches, cycles, runs, golden sets, models. Every route calls the
storage function the CLI calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from service.api.deps import Cursor, RowId, SessionDep, require
from service.api.errors import problem_responses
from service.api.query import UtcTime
from service.storage import listing
from service.storage.listing import (
    MAX_ID,
    MAX_PAGE,
    CyclePagePublic,
    GoldenSetsPublic,
    ModelsPublic,
    RunResultsPagePublic,
    WatchesPublic,
    WatchPublic,
)
from service.storage.public import CyclePublic
from service.storage.summary import cycle_summary
from service.storage.tables import State

router = APIRouter(dependencies=[Depends(require("viewer"))], responses=problem_responses(401, 403, 422, 503))

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")]


@router.get("/watches", response_model=WatchesPublic, tags=["watches"])
def list_watches(session: SessionDep) -> WatchesPublic:
    """Watches that are not deleted, by name."""
    return listing.watches(session)


@router.get("/watches/{name}", response_model=WatchPublic, tags=["watches"], responses=problem_responses(404))
def get_watch(session: SessionDep, name: str) -> WatchPublic:
    """One watch."""
    return listing.watch(session, name=name)


@router.get("/cycles", response_model=CyclePagePublic, tags=["cycles"])
def list_cycles(session: SessionDep, limit: Limit = 50,
                cursor: Cursor = None,
                watch: Annotated[str | None, Query(description="only cycles of this watch")] = None,
                state: Annotated[State | None, Query(description="only cycles in this state")] = None,
                model: Annotated[str | None, Query(max_length=200, description="only cycles with a run of "
                                                   "this model")] = None,
                since: Annotated[UtcTime | None, Query(description="only cycles made from this time on")] = None,
                until: Annotated[UtcTime | None, Query(description="only cycles made before this time")] = None,
                ) -> CyclePagePublic:
    """Cycles, newest first, with their runs' progress."""
    return listing.cycle_page(session, limit=limit, cursor=cursor, watch=watch, state=state, model=model,
                              since=since, until=until)


@router.get("/cycles/{cycle_id}", response_model=CyclePublic, tags=["cycles"], responses=problem_responses(404))
def get_cycle(session: SessionDep, cycle_id: RowId) -> CyclePublic:
    """A cycle with one summary per run: scores with intervals per segment, latency, tokens, cost."""
    return cycle_summary(session, cycle_id=cycle_id)


@router.get("/runs/{run_id}", response_model=RunResultsPagePublic, tags=["runs"], responses=problem_responses(404))
def get_run(session: SessionDep, run_id: RowId, limit: Limit = 100,
            cursor: Annotated[int, Query(ge=0, le=MAX_ID, description="`next_cursor` of the previous page")] = 0,
            ) -> RunResultsPagePublic:
    """A run with one page of its per-case completions and scores, in golden-set order."""
    return listing.run_results_page(session, run_id=run_id, limit=limit, cursor=cursor)


@router.get("/golden-sets", response_model=GoldenSetsPublic, tags=["golden sets"])
def list_golden_sets(session: SessionDep) -> GoldenSetsPublic:
    """Golden sets by name, each with its current version (content hash, case count, first use) and its
    count of versions; `GET /golden-sets/{name}` pages through its versions."""
    return listing.golden_sets(session)


@router.get("/models", response_model=ModelsPublic, tags=["models"])
def list_models(session: SessionDep) -> ModelsPublic:
    """Models as declared; API keys only as the names of their environment variables."""
    return listing.models(session)
