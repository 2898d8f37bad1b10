"""What an editor may change: the config (models only by admins), watches paused or resumed, cycles
triggered. Each write goes through the code path of the matching CLI command and is audited."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, File, HTTPException, Query, UploadFile, status
from pydantic import BaseModel, ConfigDict

from service.api.bundle import BundleFile, load_bundle
from service.api.deps import EditorToken, SessionDep
from service.api.errors import problem_responses
from service.storage import access, catalog
from service.storage.catalog import Change

FILES_HELP = "the files turnout.yaml names; each part's filename is its path relative to turnout.yaml"
ALLOW_UNSUPPORTED_HELP = ("import asserts Turnout cannot run (javascript, python, ...) as unscorable, as "
                          "`turnout apply --allow-unsupported` does")

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
