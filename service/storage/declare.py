"""One golden set, model or watch at a time, as the API writes them.

Each is checked against what is stored exactly as `turnout apply` checks a whole turnout.yaml
(`evals.config.check_model`, `check_watch`), then stored by the functions `apply` uses
(`catalog.apply_golden_set`, `apply_model`, `apply_watch`). A change that would break a stored
watch (a model moved to a residency the watch's confidential golden set forbids, a golden set
made confidential under an API model) is refused, naming the watch. The caller commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast, get_args

from sqlmodel import Session, col, select

from evals.cases import GoldenSet, Privacy
from evals.config import WatchDecl, check_model, check_watch
from evals.errors import ConfigError
from evals.models import ModelSpec
from evals.recipe import StoredWatch
from evals.scoring.judge import judge_models
from service.storage import catalog
from service.storage.catalog import Change, Kind
from service.storage.runs import InvalidState, NotFound
from service.storage.tables import GoldenSetRow, ModelRow, WatchRow, utcnow

DELETED = "soft-deleted; its runs are kept"
Row = TypeVar("Row", WatchRow, ModelRow, GoldenSetRow)


def stored_models(session: Session) -> dict[str, ModelSpec]:
    """Every live model's declaration, by name."""
    return {row.name: ModelSpec.model_validate(row.spec) for row in catalog.list_models(session)}


def stored_privacy(session: Session) -> dict[str, Privacy]:
    """Every live golden set's privacy class, by name."""
    return {row.name: _privacy(row.privacy) for row in catalog.list_golden_sets(session)}


def stored_watches(session: Session) -> list[StoredWatch]:
    """Every live watch's declaration."""
    return [StoredWatch.model_validate(row.spec) for row in catalog.list_watches(session)]


def _privacy(value: str) -> Privacy:
    for privacy in get_args(Privacy):
        if value == privacy:
            return cast(Privacy, privacy)
    raise AssertionError(f"stored privacy class {value!r}")  # the column only ever holds these three


def _uses_model(watch: StoredWatch, name: str) -> bool:
    return name in (watch.production, *watch.candidates, *judge_models(watch.scorer_specs()))


def _recheck(session: Session, *, privacy: dict[str, Privacy], models: dict[str, ModelSpec],
             affected: Callable[[StoredWatch], bool]) -> None:
    """Check again each stored watch *affected* by a change, against the changed golden sets and models."""
    for watch in stored_watches(session):
        if not affected(watch):
            continue
        try:
            check_watch(watch, privacy=privacy, models=models)
        except ConfigError as exc:
            raise exc.__class__(f"watch '{watch.name}' would break: {exc.reason}", field=exc.field) from None


def put_golden_set(session: Session, *, golden_set: GoldenSet, source: str) -> Change:
    """Create a golden set or give it a new current version; refused when its privacy class would
    forbid a model of a watch that uses it."""
    privacy = {**stored_privacy(session), golden_set.name: golden_set.privacy}
    _recheck(session, privacy=privacy, models=stored_models(session),
             affected=lambda watch: watch.golden_set == golden_set.name)
    return catalog.apply_golden_set(session, source=source, golden_set=golden_set)


def put_model(session: Session, *, spec: ModelSpec) -> Change:
    """Create or replace a model; refused when a watch that calls it would break the privacy policy."""
    check_model(spec)
    models = {**stored_models(session), spec.name: spec}
    _recheck(session, privacy=stored_privacy(session), models=models,
             affected=lambda watch: _uses_model(watch, spec.name))
    return catalog.apply_model(session, spec=spec)


def put_watch(session: Session, *, watch: WatchDecl) -> Change:
    """Create or replace a watch; its golden set and models must be stored. The scheduler picks up a
    changed schedule (or pause) at its next sync."""
    check_watch(watch, privacy=stored_privacy(session), models=stored_models(session))
    session.flush()
    return catalog.apply_watch(session, watch=watch)


def delete_watch(session: Session, *, name: str) -> Change:
    """Soft-delete a watch: it is no longer scheduled; its cycles and runs are kept."""
    row = _live(session, WatchRow, name, kind="watch")
    _soft_delete(session, row)
    return Change("watch", name, "deleted", DELETED)


def delete_model(session: Session, *, name: str) -> Change:
    """Soft-delete a model; refused (InvalidState) while a watch calls it."""
    row = _live(session, ModelRow, name, kind="model")
    users = [watch.name for watch in stored_watches(session) if _uses_model(watch, name)]
    if users:
        raise InvalidState(f"model '{name}' is used by watch(es) {', '.join(users)}; change or delete them first")
    _soft_delete(session, row)
    return Change("model", name, "deleted", DELETED)


def delete_golden_set(session: Session, *, name: str) -> Change:
    """Soft-delete a golden set (its versions stay: runs refer to them); refused while a watch uses it."""
    row = _live(session, GoldenSetRow, name, kind="golden_set")
    users = [watch.name for watch in stored_watches(session) if watch.golden_set == name]
    if users:
        raise InvalidState(f"golden set '{name}' is used by watch(es) {', '.join(users)}; change or delete "
                           "them first")
    _soft_delete(session, row)
    return Change("golden_set", name, "deleted", DELETED)


def _live(session: Session, table: type[Row], name: str, *, kind: Kind) -> Row:
    row = session.exec(select(table).where(table.name == name, col(table.deleted_at).is_(None))).first()
    if row is None:
        raise NotFound(f"no {kind.replace('_', ' ')} named '{name}'")
    return row


def _soft_delete(session: Session, row: Row) -> None:
    row.deleted_at = row.updated_at = utcnow()
    session.add(row)
