"""Counts of what the workers did, read from the database for `/metrics` at scrape time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from service.storage.tables import CompletionRow, CycleRow


@dataclass(frozen=True)
class WorkCounts:
    """Totals over every stored cycle and completion."""

    cycles_by_state: dict[str, int]
    cases_replayed: int
    """Completions with a final outcome (an answer or a final error)."""
    errors_by_kind: dict[str, int]
    """Completions that ended in an error, by error kind (`other` when none was recorded)."""


def work_counts(session: Session) -> WorkCounts:
    """Count cycles by state and completions by outcome, in three grouped queries."""
    states = {state: int(n) for state, n in session.exec(
        select(CycleRow.state, func.count()).group_by(CycleRow.state)).all()}
    replayed = int(session.exec(select(func.count()).select_from(CompletionRow)).one())
    errors: dict[str, int] = {}
    for kind, n in session.exec(select(CompletionRow.error_kind, func.count())
                                .where(col(CompletionRow.error).is_not(None)).group_by(CompletionRow.error_kind)):
        errors[kind or "other"] = errors.get(kind or "other", 0) + int(n)
    return WorkCounts(cycles_by_state=states, cases_replayed=replayed, errors_by_kind=errors)
