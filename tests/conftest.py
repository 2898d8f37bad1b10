"""Shared fixtures: a migrated database on SQLite and on the machine's real PostgreSQL.

`TURNOUT_TEST_POSTGRES_URL` names the PostgreSQL server (default: the one of DESIGN.md section 8).
Each test session creates its own database there and drops it at the end; tables are emptied
after every test.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from service.settings import get_settings, normalise_database_url
from service.storage import migrate
from service.storage.db import get_engine

POSTGRES_URL = os.environ.get("TURNOUT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

# Workers, schedulers and the code under test share one Redis database of their own (set before any
# test imports the Celery app, which reads it once).
REDIS_URL = os.environ.setdefault("TURNOUT_REDIS_URL", os.environ.get("TURNOUT_TEST_REDIS_URL",
                                                                     "redis://127.0.0.1:6379/9"))


def _use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("TURNOUT_DATABASE_URL", url)
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is faster than per test)."""
    path = tmp_path_factory.mktemp("template") / "turnout.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    admin_url = normalise_database_url(POSTGRES_URL)
    name = f"turnout_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable ({exc.orig}); start it as DESIGN.md section 8 says")
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url)
    yield url
    get_engine.cache_clear()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated, empty database, on SQLite and on PostgreSQL; TURNOUT_DATABASE_URL points at it."""
    if request.param == "sqlite":
        path = tmp_path / "turnout.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        _use_database(monkeypatch, url)
        yield url
        get_engine().dispose()
        get_engine.cache_clear()
        return
    url = request.getfixturevalue("postgres_database")
    _use_database(monkeypatch, url)
    yield url
    engine = get_engine()
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    get_engine.cache_clear()


from tests.peers.watch import applied, peers, ran, watch_file  # noqa: E402,F401  (shared fixtures)
