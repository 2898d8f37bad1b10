"""What an editor may change: the config (models only by admins), watches paused or resumed, cycles
triggered, cancelled or advised again, a run pinned as its model's drift reference; and an admin's test
alert. Each write goes through the code path of the matching CLI command (and dashboard button) and is
audited."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, File, HTTPException, Query, UploadFile, status
from pydantic import BaseModel, ConfigDict

from evals.recipe import StoredWatch
from service.api.bundle import BundleFile, load_bundle
from service.api.deps import AdminToken, EditorToken, RowId, SessionDep
from service.api.errors import problem_responses
from service.storage import access, alert_views, catalog, drift, outbox, runs
from service.storage.alert_views import AlertPublic
from service.storage.catalog import Change
from service.storage.public import CyclePublic, IsoDatetime, RecommendationPublic
from service.storage.summary import cycle_summary

FILES_HELP = "the files turnout.yaml names; each part's filename is its path relative to turnout.yaml"
ALLOW_UNSUPPORTED_HELP = ("import asserts Turnout cannot run (javascript, python, ...) as unscorable, as "
                          "`turnout apply --allow-unsupported` does")

log = logging.getLogger(__name__)

router = APIRouter(responses=problem_responses(401, 403, 422, 503))


class ChangePublic(BaseModel):
    """What `apply` did (or would do) to one declared object, as `turnout apply` prints it."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["golden_set", "model", "watch"]
    name: str
    action: Literal["created", "updated", "unchanged", "restored", "deleted"]
    detail: str


class ChangesPublic(BaseModel):
    """The outcome of applying a config; in a dry run, nothing was stored."""

    model_config = ConfigDict(frozen=True)

    dry_run: bool
    changes: list[ChangePublic]


class CycleQueuedPublic(BaseModel):
    """A cycle created and handed to the workers."""

    model_config = ConfigDict(frozen=True)

    cycle_id: int
    watch: str


def _changes(changes: list[Change], *, dry_run: bool) -> ChangesPublic:
    return ChangesPublic(dry_run=dry_run, changes=[ChangePublic(**asdict(change)) for change in changes])


@router.put("/config", response_model=ChangesPublic, tags=["config"])
async def put_config(
        session: SessionDep, token: EditorToken,
        config: Annotated[UploadFile, File(description="turnout.yaml")],
        files: Annotated[list[UploadFile] | None, File(description=FILES_HELP)] = None,
        dry_run: Annotated[bool, Query(description="answer what would change; change nothing")] = False,
        prune: Annotated[bool, Query(description="soft-delete what the config no longer declares")] = False,
        allow_unsupported: Annotated[bool, Query(description=ALLOW_UNSUPPORTED_HELP)] = False,
) -> ChangesPublic:
    """Apply a whole turnout.yaml, as `turnout apply` does. Changing models needs an admin token."""
    bundle = [BundleFile(path=part.filename or "", content=await part.read()) for part in files or []]
    checked = load_bundle(config=await config.read(), files=bundle, allow_unsupported=allow_unsupported)
    changes = catalog.apply_config(session, config=checked, prune=prune)
    touched_models = [c.name for c in changes if c.kind == "model" and c.action != "unchanged"]
    if touched_models and not access.role_allows(token.role, needed="admin"):
        session.rollback()
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"changing models ({', '.join(touched_models)}) needs an "
                            f"admin token; token '{token.name}' has role {token.role}")
    if dry_run:
        session.rollback()
        return _changes(changes, dry_run=True)
    access.record(session, actor=token.name, token_id=token.id, action="config.apply", target="config",
                  detail={"prune": prune, "changes": [asdict(c) for c in changes if c.action != "unchanged"]})
    session.commit()
    return _changes(changes, dry_run=False)


def _set_paused(session: SessionDep, token: EditorToken, name: str, *, paused: bool) -> ChangePublic:
    change = catalog.set_paused(session, name=name, paused=paused)
    if change.action != "unchanged":
        access.record(session, actor=token.name, token_id=token.id, action="watch.pause" if paused else "watch.resume",
                      target=f"watch:{name}")
    session.commit()
    return ChangePublic(**asdict(change))


@router.post("/watches/{name}/pause", response_model=ChangePublic, tags=["watches"],
             responses=problem_responses(404))
def pause_watch(session: SessionDep, token: EditorToken, name: str) -> ChangePublic:
    """Stop scheduling the watch's cycles (running ones go on); the scheduler sees it at its next sync."""
    return _set_paused(session, token, name, paused=True)


@router.post("/watches/{name}/resume", response_model=ChangePublic, tags=["watches"],
             responses=problem_responses(404))
def resume_watch(session: SessionDep, token: EditorToken, name: str) -> ChangePublic:
    """Schedule the watch's cycles again."""
    return _set_paused(session, token, name, paused=False)


@router.post("/watches/{name}/cycles", response_model=CycleQueuedPublic, status_code=status.HTTP_202_ACCEPTED,
             tags=["cycles"], responses=problem_responses(404))
def trigger_cycle(session: SessionDep, token: EditorToken, name: str) -> CycleQueuedPublic:
    """Create a cycle of the watch now and hand it to the workers, as `turnout trigger` does."""
    from jobs import dispatch  # imports the Celery app: only when a cycle is triggered

    cycle_id = dispatch.trigger(watch=name, trigger="manual")
    access.record(session, actor=token.name, token_id=token.id, action="cycle.trigger", target=f"cycle:{cycle_id}",
                  detail={"watch": name})
    session.commit()
    return CycleQueuedPublic(cycle_id=cycle_id, watch=name)


@router.post("/cycles/{cycle_id}/cancel", response_model=CyclePublic, tags=["cycles"],
             responses=problem_responses(404, 409))
def cancel_cycle(session: SessionDep, token: EditorToken, cycle_id: RowId) -> CyclePublic:
    """Cancel a queued or running cycle, as `turnout cancel` does: its runs stop at their next batch, what
    they stored is kept (409 when the cycle is already over)."""
    runs.cancel_cycle(session, cycle_id=cycle_id)
    access.record(session, actor=token.name, token_id=token.id, action="cycle.cancel", target=f"cycle:{cycle_id}")
    session.commit()
    return cycle_summary(session, cycle_id=cycle_id)


@router.post("/cycles/{cycle_id}/advise", response_model=RecommendationPublic, tags=["recommendations"],
             responses=problem_responses(404, 409))
def advise_cycle_again(session: SessionDep, token: EditorToken, cycle_id: RowId) -> RecommendationPublic:
    """Advise the cycle again with the watch's current policy and models, from the stored scores, as
    `turnout advise WATCH --cycle ID --recompute` does; an announcement it changes is alerted as usual
    (409 for a cycle that was never advised)."""
    from jobs.advice import advise_cycle_again  # the statistics stack: imported only when asked for

    recommendation = advise_cycle_again(cycle_id)
    access.record(session, actor=token.name, token_id=token.id, action="recommendation.recompute",
                  target=f"cycle:{cycle_id}")
    session.commit()
    return recommendation


class DriftPinPublic(BaseModel):
    """A run pinned as the baseline its model is compared with in its watch, instead of its last runs."""

    model_config = ConfigDict(frozen=True)

    watch: str
    model: str
    run_id: int
    pinned_at: IsoDatetime


@router.post("/runs/{run_id}/pin", response_model=DriftPinPublic, tags=["drift"],
             responses=problem_responses(404))
def pin_run(session: SessionDep, token: EditorToken, run_id: RowId) -> DriftPinPublic:
    """Pin the run as its model's drift reference in the watch of its cycle, as `turnout drift WATCH --pin
    RUN_ID` does (422 for a run that answered nothing; 404 when its watch was deleted)."""
    run = runs.get_run(session, run_id=run_id)
    watch = runs.recipe(runs.get_cycle(session, cycle_id=run.cycle_id)).watch.name
    pin = drift.pin_reference(session, watch_name=watch, run_id=run_id)
    access.record(session, actor=token.name, token_id=token.id, action="drift.pin", target=f"run:{run_id}",
                  detail={"watch": watch})
    session.commit()
    return DriftPinPublic(watch=watch, model=runs.model_names(session, [run]).get(run.model_id, ""), run_id=run_id,
                          pinned_at=pin.created_at)


@router.post("/watches/{name}/alerts/test", response_model=AlertPublic, status_code=status.HTTP_202_ACCEPTED,
             tags=["alerts"], responses=problem_responses(404, 409))
def test_alert(session: SessionDep, token: AdminToken, name: str) -> AlertPublic:
    """Send a test message through the watch's alert routes, as `turnout alerts test WATCH` does (admins
    only): stored in the outbox and handed to the workers, which deliver it; `GET /alerts/{id}` shows each
    route's attempts. 409 when no route's environment variable is set here."""
    from jobs.alerts.deliver import routes_of
    from jobs.alerts.tasks import enqueue_alerts  # imports the Celery app: only when an alert is sent

    row = drift.watch_row(session, watch_name=name)
    routes = StoredWatch.model_validate(row.spec).alerts
    if not routes_of(routes):
        raise runs.InvalidState(f"watch '{name}' has no route: none of {routes.slack_token_env}, "
                                f"{routes.slack_webhook_env}, {routes.webhook_url_env} is set; every route is skipped")
    alert_id = outbox.create_test_alert(session, watch=row).id or 0
    access.record(session, actor=token.name, token_id=token.id, action="alert.test", target=f"alert:{alert_id}",
                  detail={"watch": name})
    session.commit()
    try:
        enqueue_alerts([alert_id])
    except Exception as exc:  # broker down: the reconciler hands the due alert over later
        log.warning("could not enqueue test alert %s (%s); the reconciler will", alert_id, exc)
    return alert_views.alert(session, alert_id=alert_id)
