"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import service.storage.tables  # noqa: F401
from jobs import pipeline
from service.settings import get_settings
from service.storage import migrate
from service.storage.db import get_engine


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


def _completions(engine: sa.Engine, column: str) -> set[tuple[int, str, int, str | None, int]]:
    """(run, case key, repetition, output, number of scores) of every stored completion."""
    with engine.connect() as connection:
        return set(connection.execute(sa.text(
            f"SELECT c.run_id, g.case_key, c.repetition, c.output, "
            f"(SELECT count(*) FROM score s WHERE s.completion_id = c.id) "
            f"FROM completion c JOIN golden_case g ON g.id = c.{column}")).all())


def test_renaming_the_completion_case_column_keeps_every_completion(applied: Path) -> None:
    # given a cycle replayed and scored at the newest migration
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
    url = get_settings().database_url
    get_engine().dispose()
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    stored = _completions(engine, "golden_case_id")
    assert len(stored) == 8 and all(n_scores == 2 for *_, n_scores in stored)
    config = migrate.alembic_config(url)
    # when the schema goes back to the initial migration, then forward again
    command.downgrade(config, "79f9ccd91704")
    before = _completions(engine, "case_id")
    command.upgrade(config, "head")
    # then each completion still points at its case, with its scores, both ways
    assert before == stored
    assert _completions(engine, "golden_case_id") == stored
    engine.dispose()
