"""Dialect-aware `INSERT ... ON CONFLICT`, the one way results are written (idempotent by key)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def insert_ignore(session: Session, table: type[SQLModel], rows: Sequence[dict[str, Any]],
                  keys: Sequence[str]) -> int:
    """Insert *rows*, skipping any whose unique *keys* already exist. Returns how many were new."""
    return _upsert(session, table, rows, keys, update=())


def upsert(session: Session, table: type[SQLModel], rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update: Sequence[str]) -> int:
    """Insert *rows*; where the unique *keys* exist already, overwrite the *update* columns."""
    return _upsert(session, table, rows, keys, update=update)


def _upsert(session: Session, table: type[SQLModel], rows: Sequence[dict[str, Any]], keys: Sequence[str],
            update: Sequence[str]) -> int:
    if not rows:
        return 0
    sa_table = table.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One single-row statement executed with every row's parameters: SQLAlchemy compiles it once
    # (cached) and batches the rows itself ("insertmanyvalues"), instead of compiling a statement
    # with a bound parameter per column per row on every call.
    statement = insert(sa_table)
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={name: statement.excluded[name] for name in update})
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    # RETURNING counts the rows written on both dialects (rowcount is -1 for batched statements).
    key_column = sa_table.primary_key.columns.values()[0]
    return len(session.execute(statement.returning(key_column), list(rows)).all())
