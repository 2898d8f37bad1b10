"""Models and watches one at a time: create or replace (PUT), read, delete.

A body is the declaration turnout.yaml would hold (`ModelSpec`, `WatchDecl`), checked against what
is stored as `turnout apply` checks a file, and stored by the functions `apply` uses. Editors
change watches; models need an admin.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from pydantic import ValidationError
from sqlmodel import Session

from evals.config import WatchDecl
from evals.errors import ConfigError
from evals.goldensets.common import field_name
from evals.models import ModelSpec
from service.api.deps import AdminToken, EditorToken, SessionDep, require
from service.api.errors import problem_responses
from service.api.routes.writes import ChangePublic
from service.storage import access, declare, listing
from service.storage.catalog import Change
from service.storage.listing import ModelPublic
from service.storage.tables import ApiTokenRow

NAME_MAX = 200
"""The longest name the name columns hold."""
NewName = Annotated[str, PathParam(min_length=1, max_length=NAME_MAX, description="the name to create or replace")]
router = APIRouter(responses=problem_responses(401, 403, 422, 503))
DryRun = Annotated[bool, Query(description="check and answer what would change; store nothing")]


class WatchBody(WatchDecl):
    """A watch as turnout.yaml declares it; `name` may be left out (the path names the watch)."""

    name: str | None = None  # type: ignore[assignment]


class ModelBody(ModelSpec):
    """A model as turnout.yaml declares it; `name` may be left out (the path names the model). An API key
    only ever as the name of its environment variable (`api_key_env`)."""

    name: str | None = None  # type: ignore[assignment]


def _named(data: dict[str, Any], name: str) -> dict[str, Any]:
    if data.get("name") is not None and data["name"] != name:
        raise ConfigError(f"the body names '{data['name']}' but the path '{name}'; leave `name` out or make them "
                          "agree", field="name")
    return {**data, "name": name}


def _declared(kind: type[WatchDecl] | type[ModelSpec], data: dict[str, Any]) -> Any:
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigError(error["msg"].removeprefix("Value error, "),
                          field=field_name(tuple(error["loc"])) or None) from None


def declare_watch(session: Session, *, name: str, data: dict[str, Any]) -> Change:
    """Check *data*, a `watches:` entry of turnout.yaml (its `name` left out or *name*), as `turnout apply`
    checks it, and create or replace watch *name* with it; the caller audits and commits (`PUT
    /api/v1/watches/{name}` and the dashboard's watch form).

    Raises:
        ConfigError: naming the field at fault, for a declaration `apply` would refuse.
    """
    watch: WatchDecl = _declared(WatchDecl, _named(data, name))
    return declare.put_watch(session, watch=watch)


def declare_model(session: Session, *, name: str, data: dict[str, Any]) -> Change:
    """Check *data*, a `models:` entry of turnout.yaml, as `turnout apply` checks it, and create or replace
    model *name* with it; the caller checks the role (admin), audits and commits.

    Raises:
        ConfigError: naming the field at fault, or the watch the change would break.
    """
    spec: ModelSpec = _declared(ModelSpec, _named(data, name))
    return declare.put_model(session, spec=spec)


def _answer(session: SessionDep, token: ApiTokenRow, change: Change, *, action: str, dry_run: bool) -> ChangePublic:
    if dry_run:
        session.rollback()
        return ChangePublic(**asdict(change))
    if change.action != "unchanged":
        access.record(session, actor=token.name, token_id=token.id, action=action,
                      target=f"{change.kind}:{change.name}", detail={"action": change.action})
    session.commit()
    return ChangePublic(**asdict(change))


@router.put("/watches/{name}", response_model=ChangePublic, tags=["watches"])
def put_watch(session: SessionDep, token: EditorToken, name: NewName, body: WatchBody, dry_run: DryRun = False
              ) -> ChangePublic:
    """Create or replace a watch, checked as `turnout apply` checks it (its golden set and models must exist,
    the privacy policy must allow them). The scheduler picks up its schedule, or a pause, at its next sync."""
    change = declare_watch(session, name=name, data=body.model_dump(exclude_unset=True))
    return _answer(session, token, change, action="watch.put", dry_run=dry_run)


@router.delete("/watches/{name}", response_model=ChangePublic, tags=["watches"], responses=problem_responses(404))
def delete_watch(session: SessionDep, token: EditorToken, name: str) -> ChangePublic:
    """Soft-delete a watch: it is no longer scheduled; its cycles and runs are kept."""
    change = declare.delete_watch(session, name=name)
    return _answer(session, token, change, action="watch.delete", dry_run=False)


@router.get("/models/{name}", response_model=ModelPublic, tags=["models"], dependencies=[Depends(require("viewer"))],
            responses=problem_responses(404))
def get_model(session: SessionDep, name: str) -> ModelPublic:
    """One model's declaration; its API key only as the name of its environment variable."""
    return listing.model(session, name=name)


@router.put("/models/{name}", response_model=ChangePublic, tags=["models"], responses=problem_responses(409))
def put_model(session: SessionDep, token: AdminToken, name: NewName, body: ModelBody, dry_run: DryRun = False
              ) -> ChangePublic:
    """Create or replace a model (admins only), checked as `turnout apply` checks it; refused when a watch
    that calls it would then break the privacy policy."""
    change = declare_model(session, name=name, data=body.model_dump(exclude_unset=True))
    return _answer(session, token, change, action="model.put", dry_run=dry_run)


@router.delete("/models/{name}", response_model=ChangePublic, tags=["models"], responses=problem_responses(404, 409))
def delete_model(session: SessionDep, token: AdminToken, name: str) -> ChangePublic:
    """Soft-delete a model no watch calls (admins only); runs that used it keep their copy of its declaration."""
    change = declare.delete_model(session, name=name)
    return _answer(session, token, change, action="model.delete", dry_run=False)
