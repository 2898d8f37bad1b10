"""Read models of one golden set: its versions, the cases of a version, the difference of two versions.

A version is named by its content hash, a prefix of it (at least 8 characters, as `apply` prints
12), or `current`.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlmodel import Session, col, select

from evals.errors import ConfigError
from service.storage.listing import MAX_PAGE, GoldenSetPublic, GoldenSetVersionPublic
from service.storage.public import FrozenPublic
from service.storage.runs import NotFound
from service.storage.tables import CaseRow, GoldenSetRow, GoldenSetVersionRow

CURRENT = "current"
MIN_PREFIX = 8
VERSION_PATTERN = rf"^({CURRENT}|[0-9a-f]{{{MIN_PREFIX},64}})$"
"""What names a version in a path or query: `current`, or a content hash or a prefix of it."""


class CasePublic(FrozenPublic):
    """One case of a version, in the shape of the JSONL format (`data`)."""

    id: str
    position: int
    """Its place in the golden set, from 0."""
    content_hash: str
    tags: list[str]
    data: dict[str, Any]


class CasesPagePublic(FrozenPublic):
    """Cases of one version in golden-set order; pass `next_cursor` as `cursor` for the next page (None: no more)."""

    golden_set: str
    version: GoldenSetVersionPublic
    cases: list[CasePublic]
    next_cursor: int | None


class GoldenSetPagePublic(GoldenSetPublic):
    """A golden set with one page of its versions, newest first; pass `next_cursor` as `cursor` for the
    older ones (None: no more)."""

    next_cursor: int | None


class CaseRefPublic(FrozenPublic):
    """A case added or removed: its id and content hash."""

    id: str
    content_hash: str


class CaseChangePublic(FrozenPublic):
    """A case whose id is in both versions with another content."""

    id: str
    base_hash: str
    head_hash: str


class GoldenSetDiffPublic(FrozenPublic):
    """What *head* changes against *base*: cases added, removed and changed, by case id and content hash."""

    golden_set: str
    base: str
    head: str
    added: list[CaseRefPublic]
    removed: list[CaseRefPublic]
    changed: list[CaseChangePublic]
    unchanged: int


class GoldenSetDiffPagePublic(GoldenSetDiffPublic):
    """One page of what *head* changes against *base*: at most `limit` cases in all, first those of *head*
    (added or changed) in its order, then those *base* had (removed) in its order; `n_added`, `n_removed`
    and `n_changed` count the whole difference. Pass `next_cursor` as `cursor` for the next page (None: no
    more); versions never change, so a cursor stays valid."""

    n_added: int
    n_removed: int
    n_changed: int
    next_cursor: int | None


DiffKind = Literal["added", "removed", "changed"]


def live_golden_set(session: Session, *, name: str) -> GoldenSetRow:
    """The row of golden set *name*. Raises NotFound when there is none (or it was deleted)."""
    row = session.exec(select(GoldenSetRow).where(GoldenSetRow.name == name,
                                                  col(GoldenSetRow.deleted_at).is_(None))).first()
    if row is None:
        raise NotFound(f"no golden set named '{name}'; `turnout apply` or `PUT /api/v1/golden-sets/{{name}}` makes one")
    return row


def _version_public(row: GoldenSetRow, version: GoldenSetVersionRow) -> GoldenSetVersionPublic:
    return GoldenSetVersionPublic(content_hash=version.content_hash, n_cases=version.n_cases, privacy=version.privacy,
                                  created_at=version.created_at, used_at=version.used_at,
                                  current=version.id == row.current_version_id)


def golden_set(session: Session, *, name: str) -> GoldenSetPublic:
    """Golden set *name* with its versions, newest first."""
    row = live_golden_set(session, name=name)
    versions = session.exec(select(GoldenSetVersionRow).where(GoldenSetVersionRow.golden_set_id == row.id)
                            .order_by(col(GoldenSetVersionRow.id).desc())).all()
    return GoldenSetPublic(name=row.name, privacy=row.privacy, source=row.source,
                           versions=[_version_public(row, version) for version in versions])


def versions_page(session: Session, *, name: str, limit: int = 50, cursor: int | None = None
                  ) -> GoldenSetPagePublic:
    """Golden set *name* with *limit* of its versions, newest first, older than *cursor* (a previous
    `next_cursor`). Raises NotFound when there is no such golden set."""
    row = live_golden_set(session, name=name)
    limit = min(limit, MAX_PAGE)
    query = select(GoldenSetVersionRow).where(GoldenSetVersionRow.golden_set_id == row.id)
    if cursor is not None:
        query = query.where(col(GoldenSetVersionRow.id) < cursor)
    versions = list(session.exec(query.order_by(col(GoldenSetVersionRow.id).desc()).limit(limit + 1)).all())
    more = len(versions) > limit
    versions = versions[:limit]
    return GoldenSetPagePublic(name=row.name, privacy=row.privacy, source=row.source,
                               versions=[_version_public(row, version) for version in versions],
                               next_cursor=versions[-1].id if more and versions else None)


def find_version(session: Session, row: GoldenSetRow, *, version: str, field: str = "version"
                 ) -> GoldenSetVersionRow:
    """The version of *row* that *version* names. Raises NotFound, or ConfigError for an ambiguous prefix."""
    query = select(GoldenSetVersionRow).where(GoldenSetVersionRow.golden_set_id == row.id)
    if version == CURRENT:
        query = query.where(GoldenSetVersionRow.id == row.current_version_id)
    else:
        query = query.where(col(GoldenSetVersionRow.content_hash).startswith(version.lower(), autoescape=True))
    found = session.exec(query.limit(2)).all()
    if not found:
        raise NotFound(f"golden set '{row.name}' has no version {version!r}; "
                       f"`GET /api/v1/golden-sets/{row.name}` lists them")
    if len(found) > 1:
        raise ConfigError(f"{version!r} is the start of more than one version of '{row.name}'; give more of the "
                          "content hash", field=field)
    return found[0]


def cases_page(session: Session, *, name: str, version: str = CURRENT, tags: list[str] | None = None,
               limit: int = 100, cursor: int = 0) -> CasesPagePublic:
    """One page of a version's cases in golden-set order, optionally only those carrying every tag in *tags*.

    Args:
        session: The open session.
        name: The golden set.
        version: `current`, a content hash or a prefix of it.
        tags: Keep the cases that carry all of these (e.g. `lang:fr`).
        limit: Page size (at most `MAX_PAGE`).
        cursor: The previous page's `next_cursor`: cases from this position on.
    """
    row = live_golden_set(session, name=name)
    found = find_version(session, row, version=version)
    limit = min(limit, MAX_PAGE)
    wanted = set(tags or ())
    # Tags are a JSON list, filtered here rather than in SQL (JSON containment differs between
    # SQLite and PostgreSQL); only positions and tags are read until the page is known.
    positions = session.exec(select(CaseRow.position, CaseRow.tags).where(
        CaseRow.version_id == found.id, col(CaseRow.position) >= cursor).order_by(col(CaseRow.position))).all()
    page: list[int] = []
    next_cursor = None
    for position, case_tags in positions:
        if wanted <= set(case_tags):
            if len(page) == limit:
                next_cursor = position
                break
            page.append(position)
    rows = session.exec(select(CaseRow).where(CaseRow.version_id == found.id, col(CaseRow.position).in_(page))
                        .order_by(col(CaseRow.position))).all() if page else []
    return CasesPagePublic(golden_set=row.name, version=_version_public(row, found), next_cursor=next_cursor,
                           cases=[CasePublic(id=case.case_key, position=case.position, content_hash=case.content_hash,
                                             tags=list(case.tags), data=case.data) for case in rows])


def diff(session: Session, *, name: str, base: str, head: str = CURRENT) -> GoldenSetDiffPublic:
    """What version *head* changes against version *base*, case by case (cases keep their ids across versions).

    Added and removed cases are listed in the order of the version that has them.
    """
    row, pair, entries, unchanged = _difference(session, name=name, base=base, head=head)
    return GoldenSetDiffPublic(golden_set=row.name, base=pair[0].content_hash, head=pair[1].content_hash,
                               unchanged=unchanged, **_by_kind(entries))


def diff_page(session: Session, *, name: str, base: str, head: str = CURRENT, limit: int = 100, cursor: int = 0
              ) -> GoldenSetDiffPagePublic:
    """One page of `diff`: *limit* differing cases from the *cursor*-th on (a previous `next_cursor`),
    those of *head* in its order, then the removed ones in *base*'s order."""
    row, pair, entries, unchanged = _difference(session, name=name, base=base, head=head)
    limit = min(limit, MAX_PAGE)
    counts = {kind: sum(1 for entry in entries if entry[0] == kind) for kind in ("added", "removed", "changed")}
    return GoldenSetDiffPagePublic(
        golden_set=row.name, base=pair[0].content_hash, head=pair[1].content_hash, unchanged=unchanged,
        **_by_kind(entries[cursor:cursor + limit]), n_added=counts["added"], n_removed=counts["removed"],
        n_changed=counts["changed"], next_cursor=cursor + limit if cursor + limit < len(entries) else None)


_Entry = tuple[DiffKind, str, str, str]
"""One differing case: its kind, id, content hash in *base* and in *head* ("" where it is not)."""


def _difference(session: Session, *, name: str, base: str, head: str
                ) -> tuple[GoldenSetRow, tuple[GoldenSetVersionRow, GoldenSetVersionRow], list[_Entry], int]:
    """The golden set, its versions *base* and *head*, the differing cases (those of *head* in its order,
    then the removed ones in *base*'s) and how many are unchanged."""
    row = live_golden_set(session, name=name)
    pair = (find_version(session, row, version=base, field="base"),
            find_version(session, row, version=head, field="head"))

    def cases(version: GoldenSetVersionRow) -> dict[str, str]:
        return dict(session.exec(select(CaseRow.case_key, CaseRow.content_hash).where(
            CaseRow.version_id == version.id).order_by(col(CaseRow.position))).all())

    before, after = cases(pair[0]), cases(pair[1])
    entries: list[_Entry] = [("added", key, "", value) if key not in before else ("changed", key, before[key], value)
                             for key, value in after.items() if before.get(key) != value]
    entries += [("removed", key, value, "") for key, value in before.items() if key not in after]
    unchanged = sum(1 for key, value in after.items() if before.get(key) == value)
    return row, pair, entries, unchanged


def _by_kind(entries: list[_Entry]) -> dict[str, Any]:
    return {"added": [CaseRefPublic(id=key, content_hash=head) for kind, key, _, head in entries
                      if kind == "added"],
            "removed": [CaseRefPublic(id=key, content_hash=base) for kind, key, base, _ in entries
                        if kind == "removed"],
            "changed": [CaseChangePublic(id=key, base_hash=base, head_hash=head)
                        for kind, key, base, head in entries if kind == "changed"]}
