"""Judge verdicts kept in the database, so a re-score never asks a judge the same question twice."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from service.storage.tables import JudgeCacheRow, utcnow
from service.storage.upsert import upsert


def get_verdict(session: Session, *, key: str) -> dict[str, Any] | None:
    """The stored verdict for *key*, if any."""
    row = session.get(JudgeCacheRow, key)
    return dict(row.value) if row is not None else None


def put_verdict(session: Session, *, key: str, value: dict[str, Any]) -> None:
    """Store (or replace) the verdict for *key*."""
    upsert(session, JudgeCacheRow, [{"key": key, "value": value, "created_at": utcnow()}], keys=("key",),
           update=("value", "created_at"))
