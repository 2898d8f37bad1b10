"""A watch's metrics over time, per model: read from stored rows, never recomputed per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from service.api.deps import SessionDep, require
from service.api.errors import problem_responses
from service.api.query import Since, Until
from service.storage.series import SERIES_LIMIT, MetricSeriesPublic, metric_series

router = APIRouter(dependencies=[Depends(require("viewer"))], responses=problem_responses(401, 403, 422, 503))


@router.get("/watches/{name}/metrics", response_model=MetricSeriesPublic, tags=["metrics"],
            responses=problem_responses(404))
def watch_metrics(session: SessionDep, name: str,
                  model: Annotated[str | None, Query(max_length=200, description="only this model's runs")] = None,
                  segment: Annotated[str | None, Query(max_length=200, description="the interval on the cases "
                                                       "with this tag (default: the whole run)")] = None,
                  since: Since = None, until: Until = None,
                  limit: Annotated[int, Query(ge=1, le=SERIES_LIMIT, description="at most this many points "
                                              "(the latest)")] = 500,
                  ) -> MetricSeriesPublic:
    """One point per cycle and model, oldest first: the primary score with its interval, latency
    percentiles, tokens and cost of each finished run."""
    return metric_series(session, name, model=model, segment=segment, since=since, until=until, limit=limit)
