"""Watches and models declared or changed in the browser: the models list, and a form per watch and per
model (and for a new one) holding its turnout.yaml entry as YAML text.

A saved form is checked and stored by what `PUT /api/v1/watches/{name}` and `PUT /api/v1/models/{name}`
call (`catalog_writes.declare_watch`, `declare_model`: `turnout apply`'s validation), audited under the
same actions; a changed schedule or pause reaches the running scheduler at its next sync, as through the
API. Editors change watches, admins models. Each problem is shown next to its line.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from evals.errors import ConfigError
from service.api.deps import SessionDep
from service.api.routes.catalog_writes import NAME_MAX, declare_model, declare_watch
from service.storage import access, declare, listing
from service.storage.runs import NotFound
from service.web import declaration, upload
from service.web.auth import Admin, Editor, User, Viewer
from service.web.declaration import Kind
from service.web.render import render

router = APIRouter()

PLURAL = {"watch": "watches", "model": "models"}

NEW_WATCH = """\
name: my-watch
golden_set: qa
production: prod
candidates: [cand]
scorers:
  - exact_match
schedule: "0 6 * * *"
"""
NEW_MODEL = """\
name: my-model
base_url: https://api.openai.com/v1
model: gpt-4o-mini
api_key_env: OPENAI_API_KEY
hosting: api
"""


@router.get("/models")
def models_page(request: Request, session: SessionDep, user: Viewer, saved: str = "", name: str = "") -> Response:
    """Every model as declared, with a link to its form."""
    return render(request, "models.html", {"title": "Models", "user": user, "saved": saved, "name": name,
                                           "models": listing.models(session).models})


@router.get("/declare/watch")
def new_watch_page(request: Request, user: Viewer) -> Response:
    """The form for a new watch, holding an example entry."""
    return _form(request, user, kind="watch", name=None, text=NEW_WATCH)


@router.get("/declare/model")
def new_model_page(request: Request, user: Viewer) -> Response:
    """The form for a new model, holding an example entry."""
    return _form(request, user, kind="model", name=None, text=NEW_MODEL)


@router.get("/watches/{name}/edit")
def edit_watch_page(request: Request, session: SessionDep, user: Viewer, name: str) -> Response:
    """The watch's `watches:` entry as stored, to change and save."""
    text = declaration.watch_yaml(listing.live_watch(session, name=name).spec)
    return _form(request, user, kind="watch", name=name, text=text)


@router.get("/models/{name}/edit")
def edit_model_page(request: Request, session: SessionDep, user: Viewer, name: str) -> Response:
    """The model's `models:` entry as stored, to change and save."""
    listing.model(session, name=name)  # NotFound names it
    stored = declare.stored_models(session)[name]
    return _form(request, user, kind="model", name=name, text=declaration.model_yaml(stored),
                 hidden_options=len(stored.options))


@router.post("/declare/watch")
def create_watch(request: Request, session: SessionDep, user: Editor, text: Annotated[str, Form()] = "") -> Response:
    """Declare a new watch from its entry (its `name:` names it)."""
    return _save(request, session, user, kind="watch", name=None, text=text)


@router.post("/declare/model")
def create_model(request: Request, session: SessionDep, user: Admin, text: Annotated[str, Form()] = "") -> Response:
    """Declare a new model from its entry (admins only)."""
    return _save(request, session, user, kind="model", name=None, text=text)


@router.post("/watches/{name}/edit")
def save_watch(request: Request, session: SessionDep, user: Editor, name: str,
               text: Annotated[str, Form()] = "") -> Response:
    """Replace the watch's declaration, as `PUT /api/v1/watches/{name}` does."""
    listing.live_watch(session, name=name)
    return _save(request, session, user, kind="watch", name=name, text=text)


@router.post("/models/{name}/edit")
def save_model(request: Request, session: SessionDep, user: Admin, name: str,
               text: Annotated[str, Form()] = "") -> Response:
    """Replace the model's declaration, as `PUT /api/v1/models/{name}` does (admins only)."""
    listing.model(session, name=name)
    return _save(request, session, user, kind="model", name=name, text=text)


@router.post("/watches/{name}/delete")
def delete_watch(session: SessionDep, user: Editor, name: str) -> Response:
    """Soft-delete the watch, as `DELETE /api/v1/watches/{name}` (or `turnout apply --prune`) does: it is no
    longer scheduled; its cycles and runs are kept."""
    change = declare.delete_watch(session, name=name)
    access.record(session, actor=user.name, token_id=user.token_id, action="watch.delete", target=f"watch:{name}",
                  detail={"action": change.action})
    session.commit()
    return RedirectResponse(f"/?deleted={quote(name)}", status_code=303)


@router.post("/models/{name}/delete")
def delete_model(session: SessionDep, user: Admin, name: str) -> Response:
    """Soft-delete a model no watch calls, as `DELETE /api/v1/models/{name}` does (admins only; 409 naming the
    watches that call it)."""
    change = declare.delete_model(session, name=name)
    access.record(session, actor=user.name, token_id=user.token_id, action="model.delete", target=f"model:{name}",
                  detail={"action": change.action})
    session.commit()
    return RedirectResponse(f"/models?saved=deleted&name={quote(name)}", status_code=303)


def _exists(session: SessionDep, kind: Kind, name: str) -> bool:
    try:
        (listing.live_watch if kind == "watch" else listing.model)(session, name=name)
    except NotFound:
        return False
    return True


def _name(session: SessionDep, kind: Kind, name: str | None, data: dict[str, Any], text: str) -> str:
    """The name the entry is stored under: the page's, or for a new one its `name:` (not one taken)."""
    declared = data.get("name")
    line = declaration.line_of(text, "name")
    if name is not None:
        if declared is not None and declared != name:
            raise ConfigError(f"this form changes {kind} '{name}' but the text names '{declared}': a {kind} is "
                              f"renamed by declaring a new one and deleting this one", field="name", line=line)
        return name
    if not isinstance(declared, str) or not declared.strip():
        raise ConfigError(f"a new {kind} needs `name:` (text, up to {NAME_MAX} characters)", field="name", line=line)
    if len(declared) > NAME_MAX:
        raise ConfigError(f"the name is {len(declared)} characters long; at most {NAME_MAX}", field="name", line=line)
    if _exists(session, kind, declared):
        raise ConfigError(f"a {kind} named '{declared}' exists: change it on its own form "
                          f"(/{PLURAL[kind]}/{quote(declared)}/edit)", field="name", line=line)
    return declared


def _save(request: Request, session: SessionDep, user: User, *, kind: Kind, name: str | None, text: str) -> Response:
    text = text.replace("\r\n", "\n")
    read = declaration.read_entry(text, kind=kind)
    if read.data is None:
        assert read.problem is not None
        return _form(request, user, kind=kind, name=name, text=text, problems=[read.problem], status_code=422)
    try:
        stored_as = _name(session, kind, name, read.data, text)
        data = {key: value for key, value in read.data.items() if key != "name"}
        if kind == "watch":
            change = declare_watch(session, name=stored_as, data=data)
        else:
            data = declaration.keep_options(data, declare.stored_models(session).get(stored_as))
            change = declare_model(session, name=stored_as, data=data)
    except ConfigError as exc:
        session.rollback()
        line = exc.line if exc.line is not None else declaration.line_of(text, exc.field)
        return _form(request, user, kind=kind, name=name, text=text, status_code=422,
                     problems=[upload.Problem(line, exc.field, exc.reason)])
    if change.action != "unchanged":
        access.record(session, actor=user.name, token_id=user.token_id, action=f"{kind}.put",
                      target=f"{kind}:{stored_as}", detail={"action": change.action})
    session.commit()
    if kind == "watch":
        return RedirectResponse(f"/watches/{quote(stored_as)}?saved={change.action}", status_code=303)
    return RedirectResponse(f"/models?saved={change.action}&name={quote(stored_as)}", status_code=303)


def _form(request: Request, user: User, *, kind: Kind, name: str | None, text: str,
          problems: list[upload.Problem] | None = None, status_code: int = 200, hidden_options: int = 0
          ) -> Response:
    problems = problems or []
    action = f"/{PLURAL[kind]}/{quote(name)}/edit" if name is not None else f"/declare/{kind}"
    may_save = user.can_admin if kind == "model" else user.can_edit
    return render(request, "declaration.html", {
        "title": f"{kind.capitalize()} {name}" if name else f"New {kind}", "user": user, "kind": kind,
        "name": name, "text": text, "action": action, "hidden_options": hidden_options, "may_save": may_save,
        "problems": problems,
        "unlocated": [p for p in problems if p.line is None],
        "listing": upload.listing(text, problems) if problems else []}, status_code=status_code)
