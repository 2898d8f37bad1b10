"""Cycles case by case: production beside each candidate, with filters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from service.api.deps import RowId, SessionDep, require
from service.api.errors import problem_responses
from service.storage.listing import MAX_ID, MAX_PAGE
from service.storage.sidebyside import SideBySidePagePublic, side_by_side

router = APIRouter(dependencies=[Depends(require("viewer"))], responses=problem_responses(401, 403, 422, 503))


@router.get("/cycles/{cycle_id}/cases", response_model=SideBySidePagePublic, tags=["cycles"],
            responses=problem_responses(404))
def cycle_cases(session: SessionDep, cycle_id: RowId,
                segment: Annotated[str | None, Query(max_length=200, description="only cases with this tag")] = None,
                failed_only: Annotated[bool, Query(description="only cases some model failed: an error, no "
                                                   "primary score, or less than full marks on it")] = False,
                changed_only: Annotated[bool, Query(description="only cases where some model's answer changed "
                                                    "since its drift reference run")] = False,
                cursor: Annotated[int | None, Query(ge=0, le=MAX_ID,
                                                    description="`next_cursor` of the previous page")] = None,
                limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")] = 50,
                ) -> SideBySidePagePublic:
    """The cycle's cases in golden-set order, each with production's and every candidate's answer, scores
    (with explanations and assert outcomes), latency, and whether the answer changed since the reference."""
    return side_by_side(session, cycle_id, segment=segment, failed_only=failed_only, changed_only=changed_only,
                        cursor=cursor, limit=limit)
