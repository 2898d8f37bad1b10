"""Reads of golden-set versions: one version's cases, and the difference between two versions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from service.storage.runs import NotFound
from service.storage.tables import CaseRow, GoldenSetRow, GoldenSetVersionRow


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class StoredCasePublic(_Public):
    """One case of a version, as stored."""

    case_id: str
    content_hash: str
    tags: list[str]
    data: dict[str, Any]


class VersionCasesPublic(_Public):
    """A golden-set version with its cases, in file order."""

    name: str
    content_hash: str
    privacy: str
    current: bool
    cases: list[StoredCasePublic]


class VersionDiffPublic(_Public):
    """What changed from version `old` to version `new`, by case id."""

    name: str
    old: str
    new: str
    added: list[str]
    removed: list[str]
    changed: list[str]
    unchanged: int


def _version(session: Session, *, name: str, content_hash: str | None) -> tuple[GoldenSetRow, GoldenSetVersionRow]:
    golden_set = session.exec(select(GoldenSetRow).where(GoldenSetRow.name == name,
                                                         col(GoldenSetRow.deleted_at).is_(None))).first()
    if golden_set is None:
        raise NotFound(f"no golden set named '{name}'; `turnout apply -f turnout.yaml` declares golden sets")
    query = select(GoldenSetVersionRow).where(GoldenSetVersionRow.golden_set_id == golden_set.id)
    if content_hash is None:
        query = query.where(GoldenSetVersionRow.id == golden_set.current_version_id)
    else:  # a prefix, as the pages show (12 characters)
        query = query.where(col(GoldenSetVersionRow.content_hash).startswith(content_hash))
    versions = list(session.exec(query).all())
    if len(versions) != 1:
        what = "no" if not versions else "more than one"
        raise NotFound(f"golden set '{name}' has {what} version {content_hash or '(current)'}")
    return golden_set, versions[0]


def version_cases(session: Session, *, name: str, content_hash: str | None = None) -> VersionCasesPublic:
    """The cases of golden set *name* at version *content_hash* (a prefix will do; default: the current one).

    Raises:
        NotFound: no such golden set or version.
    """
    golden_set, version = _version(session, name=name, content_hash=content_hash)
    rows = session.exec(select(CaseRow).where(CaseRow.version_id == version.id).order_by(col(CaseRow.position))).all()
    return VersionCasesPublic(name=name, content_hash=version.content_hash, privacy=version.privacy,
                              current=version.id == golden_set.current_version_id,
                              cases=[StoredCasePublic(case_id=row.case_key, content_hash=row.content_hash,
                                                      tags=list(row.tags), data=dict(row.data)) for row in rows])


def diff_versions(session: Session, *, name: str, old: str, new: str) -> VersionDiffPublic:
    """Cases added, removed and changed (same id, other content) from version *old* to *new*."""
    before = {case.case_id: case.content_hash for case in version_cases(session, name=name, content_hash=old).cases}
    after = version_cases(session, name=name, content_hash=new)
    now = {case.case_id: case.content_hash for case in after.cases}
    return VersionDiffPublic(
        name=name, old=version_cases(session, name=name, content_hash=old).content_hash, new=after.content_hash,
        added=[key for key in now if key not in before], removed=[key for key in before if key not in now],
        changed=[key for key in now if key in before and before[key] != now[key]],
        unchanged=sum(1 for key in now if before.get(key) == now[key]))
