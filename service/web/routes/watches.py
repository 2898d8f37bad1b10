"""The watches overview, a watch's page, and its pause / resume / trigger buttons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from service.api.deps import SessionDep
from service.storage import access, advice, catalog, listing
from service.storage import watch_history as history
from service.storage.listing import WatchPublic
from service.storage.public import CycleStatusPublic, RecommendationPublic
from service.storage.runs import NotFound
from service.web import charts
from service.web.auth import Editor, Viewer
from service.web.costchart import break_even_chart
from service.web.render import render

router = APIRouter()


@dataclass(frozen=True)
class WatchLine:
    """One row of the overview."""

    watch: WatchPublic
    recommendation: RecommendationPublic | None
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


def latest_recommendation(session: SessionDep, name: str) -> RecommendationPublic | None:
    try:
        return advice.recommendation(session, watch_name=name)
    except NotFound:
        return None


@router.get("/")
def overview(request: Request, session: SessionDep, user: Viewer) -> Response:
    """Every watch: verdict and main reason, last and next cycle, score sparkline, cost this month."""
    now = datetime.now(UTC)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    lines = []
    for watch in listing.watches(session).watches:
        cycles = listing.cycle_page(session, limit=1, watch=watch.name).cycles
        past = history.watch_history(session, watch_name=watch.name, limit=20)
        production = [next((r.mean for r in c.runs if r.role == "production"), None) for c in past.cycles]
        lines.append(WatchLine(watch=watch, recommendation=latest_recommendation(session, watch.name),
                               last_cycle=cycles[0] if cycles else None, next_cycle=next_cycle(watch, now=now),
                               sparkline=charts.sparkline(production),
                               cost_month=history.cost_since(session, watch_name=watch.name, since=month)))
    return render(request, "overview.html", {"title": "Watches", "user": user, "lines": lines})


@router.get("/watches/{name}")
def watch_page(request: Request, session: SessionDep, user: Viewer, name: str, segment: str = "") -> Response:
    """Quality, latency and cost over time, the break-even chart, recommendations, cycles and actions."""
    watch = listing.watch(session, name=name)
    past = history.watch_history(session, watch_name=name, segment=segment)
    recommendations = history.recommendation_history(session, watch_name=name)
    latest = recommendations[0] if recommendations else None
    slo = ((latest.document.get("latency") or {}).get("slo_p95_ms")) if latest else None
    chart_list = [("quality", charts.quality_chart(past)), ("latency", charts.latency_chart(past, slo_p95_ms=slo)),
                  ("ttft", charts.ttft_chart(recommendations)), ("cost", charts.cost_chart(past))]
    breakeven = break_even_chart(session, recommendation=latest) if latest else None
    cycles = listing.cycle_page(session, limit=20, watch=name).cycles
    return render(request, "watch.html", {
        "title": f"Watch {name}", "user": user, "watch": watch, "history": past, "segment": segment,
        "charts": [(key, chart, charts.has_points(chart)) for key, chart in chart_list],
        "breakeven": breakeven, "latest": latest, "recommendations": recommendations, "cycles": cycles,
        "next_cycle": next_cycle(watch, now=datetime.now(UTC))})


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
