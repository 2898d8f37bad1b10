"""Runs scored again and compared, as `turnout rescore`, `turnout compare` and `turnout scorers` do: one
function of `jobs` per operation, shared with the CLI and the dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from service.api.deps import EditorToken, RowId, SessionDep, ViewerToken
from service.api.errors import problem_responses
from service.storage import access
from service.storage.listing import MAX_ID
from service.storage.scoring_public import ComparisonPublic, RescoredPublic, ScorersPublic

router = APIRouter(responses=problem_responses(401, 403, 422, 503))

ScorerSpecText = Annotated[str, Field(min_length=1, max_length=2000,
                                      description='`NAME` or `NAME:{json options}`, as `turnout rescore --scorer`')]


class RescoreRequest(BaseModel):
    """The scorers to score a run's stored completions with again."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scorers: list[ScorerSpecText] = Field(min_length=1, max_length=20)


@router.get("/scorers", response_model=ScorersPublic, tags=["runs"])
def list_scorers(_: ViewerToken) -> ScorersPublic:
    """The registered scorers a watch or a rescore can name, as `turnout scorers` lists them."""
    from jobs.rescore import list_scorers as registered

    return registered()


@router.get("/runs/{run_id}/compare", response_model=ComparisonPublic, tags=["runs"],
            responses=problem_responses(404))
def compare_run(
        _: ViewerToken, run_id: RowId,
        against: Annotated[int, Query(ge=1, le=MAX_ID, description="run A, the reference: the difference is "
                                      "this run − run A")],
        scorer: Annotated[str | None, Query(min_length=1, max_length=2000, description="a scorer key of this run's "
                                            "cycle, or a scorer name (default: the primary scorer)")] = None,
        margin: Annotated[float | None, Query(ge=0, le=1, description="non-inferiority margin (default: the "
                                              "policy of this run's watch)")] = None,
) -> ComparisonPublic:
    """The paired comparison of this run (B) against run A on the cases both have, overall and per segment,
    with the same numbers as `turnout compare A B --json`; it is stored as the CLI stores it. Runs of
    different golden sets, or with no case in common, are a 422."""
    from jobs.compare import compare_runs  # the statistics stack: imported only when asked for

    return compare_runs(run_a=against, run_b=run_id, scorer=scorer, margin=margin).public()


@router.post("/runs/{run_id}/rescore", response_model=RescoredPublic, tags=["runs"],
             responses=problem_responses(404))
def rescore_run(session: SessionDep, token: EditorToken, run_id: RowId, body: RescoreRequest) -> RescoredPublic:
    """Score the run's stored completions again with the given scorers, as `turnout rescore` does: no model
    is replayed (a judge scorer does call its model). Answers when the scores are written."""
    from jobs.rescore import rescore_run as rescore

    done = rescore(run_id=run_id, scorers=list(body.scorers))
    access.record(session, actor=token.name, token_id=token.id, action="run.rescore", target=f"run:{run_id}",
                  detail={"scorers": done.scorers, "written": done.written})
    session.commit()
    return done
