"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import service.storage.tables  # noqa: F401
from service.storage import migrate


def test_upgrade_from_empty_reaches_head_and_matches_the_models(database_url: str) -> None:
    # given a database migrated from empty by the fixture
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        # when autogenerate compares it with the models
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
        revision = context.get_current_revision()
    engine.dispose()
    # then there is no difference, and the database is at the newest migration
    assert diff == []
    assert revision == migrate.head_revision()


def test_downgrade_to_empty_and_up_again(database_url: str) -> None:
    config = migrate.alembic_config(database_url)
    command.downgrade(config, "base")
    engine = sa.create_engine(database_url)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert {"golden_set", "run", "completion", "score"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()
