"""Engines and sessions. No engine exists until someone asks for one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, create_engine

from evals.errors import TurnoutError
from service.settings import get_settings


class StoreUnavailable(TurnoutError):
    """The database could not be reached or dropped the connection; the caller may retry."""


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """The engine for *url* (default: the configured database), created once per process."""
    settings = get_settings()
    url = url or settings.database_url
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        pool_pre_ping=True,
        connect_args={"connect_timeout": int(settings.db_connect_timeout_s)},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (status, results) see a run while it is being written.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: lost connections, a database that is down or locked."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    if exc.orig is not None and exc.orig.__class__.__module__.startswith("sqlite3"):
        # SQLite reports schema mistakes ("no such table") as OperationalError too.
        message = str(exc.orig).lower()
        return "locked" in message or "unable to open" in message or "disk i/o" in message
    return True


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success, rolls back on error, and turns transient failures
    into StoreUnavailable."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except Exception as exc:
        session.rollback()
        if is_transient(exc):
            raise StoreUnavailable(f"database unavailable: {exc.__class__.__name__}: {exc}") from exc
        raise
    finally:
        session.close()
