"""The watches overview, a watch's page, and its pause / resume / trigger buttons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from service.api.deps import SessionDep
from service.storage import access, catalog, history, listing, runs
from service.storage.listing import WatchPublic
from service.storage.metrics import run_metrics
from service.storage.overview import VerdictPublic, watches_overview
from service.storage.public import CycleStatusPublic
from service.storage.series import MetricSeriesPublic, metric_series
from service.web import charts
from service.web.auth import Editor, Viewer
from service.web.costchart import break_even_chart
from service.web.render import render

router = APIRouter()

SPARK_POINTS = 20
"""Cycles in an overview sparkline."""
CHART_POINTS = 200
"""Points (cycles × models) a watch page charts: the latest ones."""


@dataclass(frozen=True)
class WatchLine:
    """One row of the overview."""

    watch: WatchPublic
    recommendation: VerdictPublic | None
    last_cycle: CycleStatusPublic | None
    next_cycle: datetime | None
    sparkline: str | None
    cost_month: float


def next_cycle(watch: WatchPublic, *, now: datetime) -> datetime | None:
    """When the scheduler fires the watch next; None when it is paused or has no schedule."""
    if watch.paused or not watch.schedule:
        return None
    from apscheduler.triggers.cron import CronTrigger

    fire = CronTrigger.from_crontab(watch.schedule, timezone=watch.timezone).get_next_fire_time(None, now)
    return fire.astimezone(UTC) if fire is not None else None


@router.get("/")
def overview(request: Request, session: SessionDep, user: Viewer, deleted: str = "") -> Response:
    """Every watch: verdict and main reason, last and next cycle, score sparkline, cost this month."""
    now = datetime.now(UTC)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    lines = [WatchLine(watch=item.watch, recommendation=item.recommendation, last_cycle=item.last_cycle,
                       next_cycle=next_cycle(item.watch, now=now), sparkline=charts.sparkline(item.scores),
                       cost_month=item.cost_since_usd)
             for item in watches_overview(session, since=month, points=SPARK_POINTS).watches]
    return render(request, "overview.html", {"title": "Watches", "user": user, "lines": lines, "deleted": deleted})


@router.get("/watches/{name}")
def watch_page(request: Request, session: SessionDep, user: Viewer, name: str, segment: str = "", saved: str = ""
               ) -> Response:
    """Quality, latency and cost over time, the break-even chart, recommendations, cycles and actions."""
    watch = listing.watch(session, name=name)
    whole = metric_series(session, name, limit=CHART_POINTS)
    past = metric_series(session, name, segment=segment, limit=CHART_POINTS) if segment else whole
    recommendations = history.recommendation_history(session, name, limit=20).recommendations
    latest = recommendations[0] if recommendations else None
    latency = (latest.document.get("latency") or {}) if latest else {}
    scorer, segments = _scorer_and_segments(session, whole)
    chart_list = [("quality", charts.quality_chart(past, scorer=scorer)),
                  ("latency", charts.latency_chart(whole, slo_p95_ms=latency.get("slo_p95_ms"))),
                  ("ttft", charts.ttft_chart(whole, slo_ttft_ms=latency.get("slo_ttft_p95_ms"))),
                  ("cost", charts.cost_chart(whole))]
    breakeven = break_even_chart(session, recommendation=latest) if latest else None
    cycles = listing.cycle_page(session, limit=20, watch=name).cycles
    return render(request, "watch.html", {
        "title": f"Watch {name}", "user": user, "watch": watch, "saved": saved, "segments": segments,
        "segment": segment,
        "charts": [(key, chart, charts.has_points(chart)) for key, chart in chart_list],
        "breakeven": breakeven, "latest": latest, "recommendations": recommendations, "cycles": cycles,
        "next_cycle": next_cycle(watch, now=datetime.now(UTC))})


def _scorer_and_segments(session: SessionDep, series: MetricSeriesPublic) -> tuple[str, list[str]]:
    """The primary scorer of the latest cycle charted, and the segments its runs were measured on."""
    if not series.points:
        return "score", []
    latest = series.points[-1]
    scorer = runs.recipe(runs.get_cycle(session, cycle_id=latest.cycle_id)).primary.key
    return scorer, sorted(key for key in run_metrics(session, run_id=latest.run_id, scorer_key=scorer) if key)


def _set_paused(session: SessionDep, user: Editor, name: str, *, paused: bool) -> Response:
    change = catalog.set_paused(session, name=name, paused=paused)
    if change.action != "unchanged":
        access.record(session, actor=user.name, token_id=user.token_id,
                      action="watch.pause" if paused else "watch.resume", target=f"watch:{name}")
    session.commit()
    return RedirectResponse(f"/watches/{name}", status_code=303)


@router.post("/watches/{name}/pause")
def pause(session: SessionDep, user: Editor, name: str) -> Response:
    """Stop scheduling the watch, as `turnout pause` does."""
    return _set_paused(session, user, name, paused=True)


@router.post("/watches/{name}/resume")
def resume(session: SessionDep, user: Editor, name: str) -> Response:
    """Schedule the watch again."""
    return _set_paused(session, user, name, paused=False)


@router.post("/watches/{name}/trigger")
def trigger(session: SessionDep, user: Editor, name: str) -> Response:
    """Create a cycle now and hand it to the workers, as `turnout trigger` does."""
    from jobs import dispatch  # imports the Celery app: only when a cycle is triggered

    listing.watch(session, name=name)
    cycle_id = dispatch.trigger(watch=name, trigger="manual")
    access.record(session, actor=user.name, token_id=user.token_id, action="cycle.trigger",
                  target=f"cycle:{cycle_id}", detail={"watch": name})
    session.commit()
    return RedirectResponse(f"/cycles/{cycle_id}", status_code=303)
