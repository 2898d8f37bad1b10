"""Golden sets, models and watches: applying turnout.yaml idempotently, listing, soft-deleting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from evals.cases import GoldenSet, canonical_json, sha256_hex
from evals.config import Config, WatchDecl
from evals.drift.judge_labels import JudgeLabel
from evals.errors import ConfigError
from evals.models import ModelSpec
from service.storage.runs import NotFound
from service.storage.tables import CaseRow, GoldenSetRow, GoldenSetVersionRow, ModelRow, WatchRow, utcnow

Kind = Literal["golden_set", "model", "watch"]
Action = Literal["created", "updated", "unchanged", "restored", "deleted"]
# Constrained, not a union: mypy then checks the queries once per table.
SpecRow = TypeVar("SpecRow", ModelRow, WatchRow)
LiveRow = TypeVar("LiveRow", GoldenSetRow, ModelRow)


@dataclass(frozen=True)
class Change:
    """What `apply` did (or, in a dry run, would do) to one declared object."""

    kind: Kind
    name: str
    action: Action
    detail: str = ""


def apply_config(session: Session, *, config: Config, prune: bool = False) -> list[Change]:
    """Create or update everything *config* declares; with *prune*, soft-delete what it no longer does.

    Idempotent: applying the same file twice reports every object `unchanged` the second time.
    The caller commits (or rolls back, for a dry run).
    """
    changes = [apply_golden_set(session, source=decl.file or "inline", golden_set=golden_set)
               for decl, golden_set in config.golden_sets.values()]
    changes += [apply_model(session, spec=spec) for spec in config.models.values()]
    session.flush()
    changes += [apply_watch(session, watch=watch, judge_labels=config.judge_labels.get(name))
                for name, watch in config.watches.items()]
    if prune:
        changes += _prune(session, config)
    return changes


def apply_model(session: Session, *, spec: ModelSpec) -> Change:
    """Create or update one model as `apply` does (checked by `evals.config.check_model` first)."""
    return _apply_spec(session, ModelRow, spec.name, spec.model_dump(mode="json"), kind="model",
                       columns={"kind": spec.kind, "hosting": spec.hosting, "residency": spec.residency})


def apply_watch(session: Session, *, watch: WatchDecl, judge_labels: Sequence[JudgeLabel] | None = None) -> Change:
    """Create or update one watch as `apply` does; its golden set and models must be stored and live
    (checked by `evals.config.check_watch` first). *judge_labels*: the labels read from its
    `drift.judge_labels` file, stored with it."""
    spec = watch.model_dump(mode="json")
    spec["scorers"] = [s.to_data() for s in watch.scorer_specs()]
    if judge_labels is not None:  # the file's content, so a changed file is a changed watch
        spec["judge_label_set"] = [label.to_data() for label in judge_labels]
    columns = {
        "golden_set_id": _live_id(session, GoldenSetRow, watch.golden_set),
        "production_model_id": _live_id(session, ModelRow, watch.production),
        "schedule": watch.schedule, "timezone": watch.timezone, "paused": watch.paused, "team": watch.team,
    }
    return _apply_spec(session, WatchRow, watch.name, spec, kind="watch", columns=columns)


def apply_golden_set(session: Session, *, source: str, golden_set: GoldenSet) -> Change:
    """Create a golden set, or make *golden_set*'s cases its current version (a version already stored
    with the same content hash is reused: versions are never edited, only added).

    Args:
        session: The open session; the caller commits.
        source: Where the cases came from, for listings (`inline`, a file name, `api`).
        golden_set: The cases, read and checked.
    """
    decl_source = source
    _check_lengths(GoldenSetRow, "golden_set", {"name": golden_set.name, "source": source})
    row = session.exec(select(GoldenSetRow).where(GoldenSetRow.name == golden_set.name)).first()
    action: Action = "unchanged"
    if row is None:
        row = GoldenSetRow(name=golden_set.name, privacy=golden_set.privacy, source=decl_source)
        session.add(row)
        session.flush()
        action = "created"
    version = _version_for(session, row, golden_set)
    if action != "created":
        if row.deleted_at is not None:
            action = "restored"
        elif row.current_version_id != version.id or row.privacy != golden_set.privacy:
            action = "updated"
    if action != "unchanged":
        row.current_version_id, row.privacy, row.source = version.id, golden_set.privacy, decl_source
        row.deleted_at, row.updated_at = None, utcnow()
        session.add(row)
    return Change("golden_set", golden_set.name, action,
                  f"version {version.content_hash[:12]}, {version.n_cases} cases")


def _version_for(session: Session, row: GoldenSetRow, golden_set: GoldenSet) -> GoldenSetVersionRow:
    """The version row holding exactly these cases; versions are never edited, only added."""
    content_hash = golden_set.content_hash
    version = session.exec(select(GoldenSetVersionRow).where(
        GoldenSetVersionRow.golden_set_id == row.id, GoldenSetVersionRow.content_hash == content_hash)).first()
    if version is not None:
        return version
    assert row.id is not None
    version = GoldenSetVersionRow(golden_set_id=row.id, content_hash=content_hash,
                                  privacy=golden_set.privacy, n_cases=len(golden_set.cases))
    session.add(version)
    session.flush()
    assert version.id is not None
    session.add_all(CaseRow(version_id=version.id, position=position, case_key=case.id,
                            content_hash=case.content_hash, data=case.to_data(), tags=list(case.tags))
                    for position, case in enumerate(golden_set.cases))
    return version


def _check_lengths(table: type[SQLModel], kind: Kind, values: dict[str, Any]) -> None:
    """Refuse by name a text longer than its column holds (PostgreSQL would refuse the row with a bare error)."""
    columns = sa.inspect(table).columns
    for key, value in values.items():
        length = getattr(columns[key].type, "length", None) if key in columns else None
        if isinstance(value, str) and length is not None and len(value) > length:
            raise ConfigError(f"{kind.replace('_', ' ')} {key} is {len(value)} characters long; the most is {length}",
                              field=key)


def _apply_spec(session: Session, table: type[SpecRow], name: str, spec: dict[str, Any], *,
                kind: Kind, columns: dict[str, Any]) -> Change:
    _check_lengths(table, kind, {"name": name, **columns})
    spec_hash = sha256_hex(canonical_json(spec))
    row = session.exec(select(table).where(table.name == name)).first()
    if row is None:
        session.add(table(name=name, spec=spec, spec_hash=spec_hash, **columns))
        return Change(kind, name, "created")
    if row.spec_hash == spec_hash and row.deleted_at is None and all(
            getattr(row, key) == value for key, value in columns.items()):
        return Change(kind, name, "unchanged")
    action: Action = "restored" if row.deleted_at is not None else "updated"
    for key, value in {"spec": spec, "spec_hash": spec_hash, **columns}.items():
        setattr(row, key, value)
    row.deleted_at, row.updated_at = None, utcnow()
    session.add(row)
    return Change(kind, name, action)


def _live_id(session: Session, table: type[LiveRow], name: str) -> int:
    row = session.exec(select(table).where(table.name == name, col(table.deleted_at).is_(None))).one()
    assert row.id is not None
    return row.id


def _prune(session: Session, config: Config) -> list[Change]:
    changes: list[Change] = []
    declared: list[tuple[Kind, Any, set[str]]] = [
        ("watch", WatchRow, set(config.watches)),
        ("model", ModelRow, set(config.models)),
        ("golden_set", GoldenSetRow, set(config.golden_sets)),
    ]
    for kind, table, names in declared:
        for row in session.exec(select(table).where(col(table.deleted_at).is_(None))).all():
            if row.name not in names:
                row.deleted_at = utcnow()
                session.add(row)
                changes.append(Change(kind, row.name, "deleted", "soft-deleted; its runs are kept"))
    return changes


def list_watches(session: Session) -> list[WatchRow]:
    """Watches that are not deleted, by name."""
    return list(session.exec(select(WatchRow).where(col(WatchRow.deleted_at).is_(None)).order_by(WatchRow.name)))


def list_models(session: Session) -> list[ModelRow]:
    """Models that are not deleted, by name."""
    return list(session.exec(select(ModelRow).where(col(ModelRow.deleted_at).is_(None)).order_by(ModelRow.name)))


def model_spec(session: Session, *, name: str) -> ModelSpec | None:
    """The declaration of model *name*, or None when no model of that name is declared (or it was pruned)."""
    row = session.exec(select(ModelRow).where(ModelRow.name == name, col(ModelRow.deleted_at).is_(None))).first()
    return None if row is None else ModelSpec.model_validate(row.spec)


def list_golden_sets(session: Session) -> list[GoldenSetRow]:
    """Golden sets that are not deleted, by name."""
    return list(session.exec(
        select(GoldenSetRow).where(col(GoldenSetRow.deleted_at).is_(None)).order_by(GoldenSetRow.name)))


def set_paused(session: Session, *, name: str, paused: bool) -> Change:
    """Pause or resume watch *name*; the scheduler picks the change up at its next sync.

    The stored declaration says so too, so `turnout apply` of a file that says otherwise reports
    the watch `updated` (the file is the truth). Raises NotFound for an unknown watch.
    """
    row = session.exec(select(WatchRow).where(WatchRow.name == name, col(WatchRow.deleted_at).is_(None))).first()
    if row is None:
        raise NotFound(f"no watch named '{name}'; `turnout apply -f turnout.yaml` declares watches")
    if row.paused == paused:
        return Change("watch", name, "unchanged", "paused" if paused else "running")
    spec = {**row.spec, "paused": paused}
    row.spec, row.spec_hash, row.paused, row.updated_at = spec, sha256_hex(canonical_json(spec)), paused, utcnow()
    session.add(row)
    return Change("watch", name, "updated", "paused" if paused else "resumed")
