"""Golden sets one at a time: read a version's cases and the difference of two versions (viewers);
create or replace from JSON cases or an uploaded file in any supported format, delete (editors).

A golden set is read by `evals.config.read_golden_set`, as `turnout apply` reads a `golden_sets:`
entry, and stored by the function `apply` stores it with. Every problem of the cases comes back in
one 422 (`problems`: file, line, field, message each), and nothing is stored.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from evals.cases import GoldenSet, Privacy
from evals.config import read_golden_set
from evals.errors import ConfigError, ConfigProblems
from evals.goldensets import Format
from service.api.bundle import MAX_BUNDLE_BYTES
from service.api.deps import Cursor, EditorToken, SessionDep, require
from service.api.errors import problem_responses
from service.api.golden_file import golden_set_decl, read_golden_file
from service.api.routes.writes import ALLOW_UNSUPPORTED_HELP, ChangePublic
from service.storage import access, declare
from service.storage import golden_sets as store
from service.storage.golden_sets import VERSION_PATTERN, CasesPagePublic, GoldenSetDiffPagePublic, GoldenSetPagePublic
from service.storage.listing import MAX_ID, MAX_PAGE, GoldenSetVersionPublic

NAME_MAX = 200
"""The longest name the name columns hold."""
NewName = Annotated[str, PathParam(min_length=1, max_length=NAME_MAX, description="the name to create or replace")]
router = APIRouter(tags=["golden sets"], responses=problem_responses(401, 403, 422, 503))
viewer = [Depends(require("viewer"))]

VERSION_HELP = "`current`, a content hash or a prefix of it (8 characters or more)"
Version = Annotated[str, Query(pattern=VERSION_PATTERN, description=VERSION_HELP)]
VersionPath = Annotated[str, PathParam(pattern=VERSION_PATTERN, description=VERSION_HELP)]
INLINE = "cases"
FIELDS_HELP = ('JSON: which column (CSV) or key (JSONL) is each case field, as `fields:` in turnout.yaml, e.g. '
               '{"input": "question", "expected": "answer", "tags": ["language"]}')
AllowUnsupported = Annotated[bool, Query(description=ALLOW_UNSUPPORTED_HELP)]
DryRun = Annotated[bool, Query(description="check and answer what would change; store nothing")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")]
Position = Annotated[int, Query(ge=0, le=MAX_ID, description="`next_cursor` of the previous page")]


class GoldenSetCases(BaseModel):
    """A golden set's cases as JSON, each in the shape of a JSONL line (`id`, `input`, `expected`, `tags`, ...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    privacy: Privacy = "internal"
    cases: list[Any] = Field(max_length=1_000_000)


class GoldenSetChangePublic(ChangePublic):
    """What was done (or, in a dry run, would be done) to the golden set, and its version now."""

    dry_run: bool
    version: GoldenSetVersionPublic
    """The version the cases make (in a dry run: would make)."""
    notes: list[str]
    """What `turnout apply` would tell: generated ids, asserts imported as unscorable."""


@router.get("/golden-sets/{name}", response_model=GoldenSetPagePublic, dependencies=viewer,
            responses=problem_responses(404))
def get_golden_set(session: SessionDep, name: str, limit: Limit = 50, cursor: Cursor = None) -> GoldenSetPagePublic:
    """A golden set with a page of its versions (content hash, case count, first use), newest first."""
    return store.versions_page(session, name=name, limit=limit, cursor=cursor)


@router.get("/golden-sets/{name}/versions/{version}/cases", response_model=CasesPagePublic, dependencies=viewer,
            responses=problem_responses(404))
def list_cases(session: SessionDep, name: str,
               version: VersionPath,
               tag: Annotated[list[str] | None, Query(description="only cases carrying this tag; repeat for all "
                                                                  "of several")] = None,
               limit: Limit = 100, cursor: Position = 0) -> CasesPagePublic:
    """The cases of one version in golden-set order, a page at a time."""
    return store.cases_page(session, name=name, version=version, tags=tag, limit=limit, cursor=cursor)


@router.get("/golden-sets/{name}/diff", response_model=GoldenSetDiffPagePublic, dependencies=viewer,
            responses=problem_responses(404))
def diff_versions(session: SessionDep, name: str, base: Version, head: Version = "current", limit: Limit = 100,
                  cursor: Position = 0) -> GoldenSetDiffPagePublic:
    """Cases added, removed and changed from version *base* to version *head*, by case id and content hash,
    a page at a time: *head*'s cases (added, changed) in its order, then the removed ones in *base*'s."""
    return store.diff_page(session, name=name, base=base, head=head, limit=limit, cursor=cursor)


@router.put("/golden-sets/{name}", response_model=GoldenSetChangePublic, responses=problem_responses(409))
def put_golden_set(session: SessionDep, token: EditorToken, name: NewName, body: GoldenSetCases,
                   allow_unsupported: AllowUnsupported = False, dry_run: DryRun = False) -> GoldenSetChangePublic:
    """Create the golden set, or make these cases its current version (the same cases make the same version)."""
    decl = golden_set_decl(name=name, cases=body.cases, privacy=body.privacy)
    try:
        golden_set, notes = read_golden_set(decl, base=Path("."), allow_unsupported=allow_unsupported)
    except ConfigError as exc:
        raise _in_body(exc) from None
    return _store(session, token, golden_set, notes, source="api", dry_run=dry_run)


@router.put("/golden-sets/{name}/file", response_model=GoldenSetChangePublic, responses=problem_responses(409))
async def upload_golden_set(
        session: SessionDep, token: EditorToken, name: NewName,
        file: Annotated[UploadFile, File(description="the golden-set file; its filename names it in errors and, "
                                                     "without `format`, tells the format by its extension")],
        file_format: Annotated[Format | None, Form(alias="format", description="jsonl, yaml, csv, openai-evals or "
                                                                              "promptfoo")] = None,
        privacy: Annotated[Privacy, Form()] = "internal",
        fields: Annotated[str | None, Form(description=FIELDS_HELP)] = None,
        allow_unsupported: AllowUnsupported = False, dry_run: DryRun = False,
) -> GoldenSetChangePublic:
    """Create the golden set from a file, or make its cases the current version, as a `file:` entry of
    turnout.yaml would. A promptfoo file's `file://` references cannot be resolved from one file: send
    those with `PUT /config` as a bundle."""
    filename = PurePosixPath((file.filename or "").replace("\\", "/")).name or "cases"
    if len(filename.encode("utf-8")) > NAME_MAX:
        raise ConfigError(f"the file's name is longer than {NAME_MAX} bytes; rename it", field="file")
    content = await file.read(MAX_BUNDLE_BYTES + 1)
    if len(content) > MAX_BUNDLE_BYTES:
        raise ConfigError(f"the file is larger than {MAX_BUNDLE_BYTES // 2**20} MB", field="file")
    golden_set, notes = read_golden_file(name=name, filename=filename, content=content, file_format=file_format,
                                         privacy=privacy, fields=_json_form(fields, "fields"),
                                         allow_unsupported=allow_unsupported)
    return _store(session, token, golden_set, notes, source=filename, dry_run=dry_run)


@router.delete("/golden-sets/{name}", response_model=ChangePublic, responses=problem_responses(404, 409))
def delete_golden_set(session: SessionDep, token: EditorToken, name: str) -> ChangePublic:
    """Soft-delete a golden set no watch uses; its versions stay, since runs refer to them."""
    change = declare.delete_golden_set(session, name=name)
    access.record(session, actor=token.name, token_id=token.id, action="golden_set.delete",
                  target=f"golden_set:{name}")
    session.commit()
    return ChangePublic(**asdict(change))


def _json_form(text: str | None, field: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not JSON: {exc.msg} (column {exc.colno})", field=field) from None


def _in_body(exc: ConfigError) -> ConfigError:
    """A problem of JSON cases, located by its field in the request body (`cases[3].expected`)."""
    if isinstance(exc, ConfigProblems):
        return ConfigProblems([_in_body(part) for part in exc.problems], more=exc.more)
    if exc.file != INLINE:
        return exc
    field = INLINE if not exc.field else INLINE + (exc.field if exc.field.startswith("[") else f".{exc.field}")
    return exc.__class__(exc.reason, field=field)


def _store(session: SessionDep, token: EditorToken, golden_set: GoldenSet, notes: tuple[str, ...], *,
           source: str, dry_run: bool) -> GoldenSetChangePublic:
    change = declare.put_golden_set(session, golden_set=golden_set, source=source)
    session.flush()
    row = store.live_golden_set(session, name=golden_set.name)
    version = store.find_version(session, row, version=golden_set.content_hash)
    found = GoldenSetVersionPublic(content_hash=version.content_hash, n_cases=version.n_cases,
                                   privacy=version.privacy, created_at=version.created_at, used_at=version.used_at,
                                   current=True)
    answer = GoldenSetChangePublic(**asdict(change), dry_run=dry_run, version=found, notes=list(notes))
    if dry_run:
        session.rollback()
        return answer
    if change.action != "unchanged":
        access.record(session, actor=token.name, token_id=token.id, action="golden_set.put",
                      target=f"golden_set:{golden_set.name}",
                      detail={"action": change.action, "version": golden_set.content_hash, "source": source})
    session.commit()
    return answer
