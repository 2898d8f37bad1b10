"""Golden sets: the list, a set's versions with its tag overview, the diff of two versions, upload and edit."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, cast, get_args
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse

from evals.cases import Privacy
from evals.config import read_golden_set
from evals.errors import ConfigError
from evals.goldensets import Format
from evals.recipe import StoredWatch
from service.api.deps import SessionDep
from service.api.golden_file import golden_set_decl
from service.api.routes.golden_sets import Version
from service.storage import access, advice, catalog, declare, listing
from service.storage import golden_sets as store
from service.storage.golden_sets import CURRENT, CasePublic
from service.storage.listing import MAX_PAGE, GoldenSetPublic
from service.storage.runs import NotFound
from service.web import upload
from service.web.auth import Editor, Viewer
from service.web.render import render

router = APIRouter()


def _golden_set(session: SessionDep, name: str) -> GoldenSetPublic | None:
    try:
        return store.golden_set(session, name=name)
    except NotFound:
        return None


@router.get("/golden-sets")
def list_page(request: Request, session: SessionDep, user: Viewer, deleted: str = "") -> Response:
    """Every golden set with its current version."""
    return render(request, "goldensets.html", {"title": "Golden sets", "user": user, "deleted": deleted,
                                               "sets": listing.golden_sets(session).golden_sets})


def _current_cases(session: SessionDep, name: str) -> list[CasePublic]:
    """Every case of the current version of *name*, in golden-set order, read page by page as the API reads them."""
    cases: list[CasePublic] = []
    cursor: int | None = 0
    while cursor is not None:
        page = store.cases_page(session, name=name, limit=MAX_PAGE, cursor=cursor)
        cases.extend(page.cases)
        cursor = page.next_cursor
    return cases


def _segments(session: SessionDep, name: str, cases: list[CasePublic]) -> list[dict[str, Any]]:
    """Cases per tag; for tags a watch of this set marks critical, the advisor's cases-needed figure."""
    counts = Counter(tag for case in cases for tag in case.tags)
    critical: dict[str, list[tuple[str, int | None]]] = {}
    for row in catalog.list_watches(session):
        watch = StoredWatch.model_validate(row.spec)
        if watch.golden_set != name:
            continue
        try:
            quality = advice.recommendation(session, watch_name=row.name).document.get("quality") or {}
        except NotFound:
            quality = {}
        for tag in watch.policy.critical_segments:
            needed = ((quality.get("segments") or {}).get(tag) or {}).get("cases_needed")
            critical.setdefault(tag, []).append((row.name, needed))
    tags = sorted(set(counts) | set(critical))
    return [{"tag": tag, "n": counts.get(tag, 0), "critical": critical.get(tag, [])} for tag in tags]


@router.get("/golden-sets/upload")
def upload_page(request: Request, session: SessionDep, user: Viewer, name: str = "") -> Response:
    """The upload form (for a new set, or a new version of *name*)."""
    existing = _golden_set(session, name) if name else None
    return _form(request, user, name=name, existing=existing, text="", format="jsonl", checked=None)


@router.get("/golden-sets/{name}/edit")
def edit_page(request: Request, session: SessionDep, user: Viewer, name: str) -> Response:
    """The current version's cases as JSONL, to edit in the browser and save as a new version."""
    cases = _current_cases(session, name)
    text = "".join(json.dumps(case.data, ensure_ascii=False) + "\n" for case in cases)
    return _form(request, user, name=name, existing=_golden_set(session, name), text=text, format="jsonl",
                 checked=None)


def _form(request: Request, user: Any, *, name: str, existing: GoldenSetPublic | None, text: str, format: str,
          checked: upload.Checked | None, fields: str = "", status_code: int = 200) -> Response:
    problems = checked.problems if checked else []
    return render(request, "upload.html", {
        "title": f"Upload {name}" if name else "Upload a golden set", "user": user, "name": name,
        "existing": existing, "text": text, "format": format, "fields": fields, "formats": upload.UPLOAD_FORMATS,
        "problems": problems, "unlocated": [p for p in problems if p.line is None],
        "listing": upload.listing(text, problems) if problems else []}, status_code=status_code)


@router.post("/golden-sets/upload")
async def upload_golden_set(request: Request, session: SessionDep, user: Editor,
                            name: Annotated[str, Form()] = "", privacy: Annotated[str, Form()] = "internal",
                            format: Annotated[str, Form()] = "jsonl", text: Annotated[str, Form()] = "",
                            fields: Annotated[str, Form()] = "",
                            file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Check the upload; store it as the set's new version, or show each problem at its line."""
    name = name.strip()
    existing = _golden_set(session, name) if name else None
    chosen: Format = next((f for f in upload.UPLOAD_FORMATS if f == format), "jsonl")
    filename = upload.file_name(name or "golden-set", None, chosen)
    if file is not None and file.filename:
        data = await file.read(upload.MAX_UPLOAD_BYTES + 1)
        if len(data) > upload.MAX_UPLOAD_BYTES:
            too_big = f"{file.filename} is over {upload.MAX_UPLOAD_BYTES // 2**20} MiB: use `turnout apply`"
            checked = upload.Checked(None, [upload.Problem(None, "file", too_big)])
            return _form(request, user, name=name, existing=existing, fields=fields, text="", format=chosen,
                         checked=checked, status_code=422)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            checked = upload.Checked(None, [upload.Problem(None, "file", f"{file.filename} is not UTF-8 text "
                                                           f"(byte {exc.start}): save it as UTF-8")])
            return _form(request, user, name=name, existing=existing, fields=fields, text="", format=chosen,
                         checked=checked, status_code=422)
        filename = upload.file_name(name or "golden-set", file.filename, chosen)
    level = existing.privacy if existing else privacy
    if level not in ("public", "internal", "confidential"):
        level = "internal"
    checked = upload.check_upload(name=name, privacy=cast(Privacy, level), text=text.replace("\r\n", "\n"),
                                  format=chosen, filename=filename, fields=fields)
    if checked.golden_set is None:
        return _form(request, user, name=name, existing=existing, fields=fields, text=text, format=chosen,
                     checked=checked, status_code=422)
    golden_set = checked.golden_set
    try:  # stored as `PUT /api/v1/golden-sets/{name}/file` stores it: refused if a watch's policy would break
        change = declare.put_golden_set(session, golden_set=golden_set, source=filename)
    except ConfigError as exc:
        session.rollback()
        checked = upload.Checked(None, [upload.Problem(None, exc.field, exc.reason)])
        return _form(request, user, name=name, existing=existing, fields=fields, text=text, format=chosen,
                     checked=checked, status_code=422)
    access.record(session, actor=user.name, token_id=user.token_id, action="golden_set.upload",
                  target=f"golden_set:{name}", detail={"action": change.action, "detail": change.detail,
                                                       "version": golden_set.content_hash})
    session.commit()
    return RedirectResponse(f"/golden-sets/{name}?saved={change.action}", status_code=303)


@router.get("/golden-sets/{name}")
def golden_set_page(request: Request, session: SessionDep, user: Viewer, name: str, saved: str = "") -> Response:
    """Versions, the tag overview, the privacy class, and the diff form."""
    return _set_page(request, session, user, name, saved=saved)


def _set_page(request: Request, session: SessionDep, user: Any, name: str, *, saved: str = "",
              privacy_error: str | None = None, status_code: int = 200) -> Response:
    golden_set = store.golden_set(session, name=name)
    cases = _current_cases(session, name)
    current = next(version for version in golden_set.versions if version.current)
    return render(request, "goldenset.html", {"title": f"Golden set {name}", "user": user, "set": golden_set,
                                              "current": current, "cases": cases,
                                              "segments": _segments(session, name, cases),
                                              "clusters": len({c.data.get("cluster") for c in cases
                                                               if c.data.get("cluster")}),
                                              "saved": saved, "privacy_levels": get_args(Privacy),
                                              "set_watches": [watch.name for watch in declare.stored_watches(session)
                                                              if watch.golden_set == name],
                                              "privacy_error": privacy_error}, status_code=status_code)


@router.post("/golden-sets/{name}/privacy")
def set_privacy(request: Request, session: SessionDep, user: Editor, name: str,
                privacy: Annotated[str, Form()] = "") -> Response:
    """Give the golden set another privacy class: its current cases become a new version with that class,
    stored as `PUT /api/v1/golden-sets/{name}` stores them, and refused (nothing stored) when a watch's
    policy would then forbid one of its models."""
    existing = store.golden_set(session, name=name)
    level = next((p for p in get_args(Privacy) if p == privacy), None)
    if level is None:
        return _set_page(request, session, user, name, status_code=422, privacy_error=(
            f"privacy {privacy!r} is not a privacy class: choose one of {', '.join(get_args(Privacy))}"))
    if level == existing.privacy:
        return RedirectResponse(f"/golden-sets/{name}?saved=unchanged", status_code=303)
    decl = golden_set_decl(name=name, cases=[case.data for case in _current_cases(session, name)], privacy=level)
    try:
        golden_set, _ = read_golden_set(decl, base=Path("."))
        change = declare.put_golden_set(session, golden_set=golden_set, source=existing.source or "inline")
    except ConfigError as exc:
        session.rollback()
        return _set_page(request, session, user, name, status_code=422,
                         privacy_error=f"not changed to {level}: {exc.reason}")
    access.record(session, actor=user.name, token_id=user.token_id, action="golden_set.privacy",
                  target=f"golden_set:{name}", detail={"action": change.action, "from": existing.privacy,
                                                       "to": level, "version": golden_set.content_hash})
    session.commit()
    return RedirectResponse(f"/golden-sets/{name}?saved={change.action}", status_code=303)


@router.post("/golden-sets/{name}/delete")
def delete(session: SessionDep, user: Editor, name: str) -> Response:
    """Soft-delete a golden set no watch uses, as `DELETE /api/v1/golden-sets/{name}` (or `turnout apply
    --prune`) does: its versions stay, since runs refer to them; applying it again restores it."""
    declare.delete_golden_set(session, name=name)
    access.record(session, actor=user.name, token_id=user.token_id, action="golden_set.delete",
                  target=f"golden_set:{name}")
    session.commit()
    return RedirectResponse(f"/golden-sets?deleted={quote(name)}", status_code=303)


@router.get("/golden-sets/{name}/diff")
def diff_page(request: Request, session: SessionDep, user: Viewer, name: str, base: Version,
              head: Version = CURRENT) -> Response:
    """Cases added, removed and changed between two versions, as `GET /api/v1/golden-sets/{name}/diff` answers."""
    diff = store.diff(session, name=name, base=base, head=head)
    return render(request, "diff.html", {"title": f"Diff of {name}", "user": user, "diff": diff})
