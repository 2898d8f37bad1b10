"""Schema migrations through Alembic, callable from the CLI and tests.

The migrations live in the top-level `alembic/` folder of the source tree. A wheel ships the same
files as `service/storage/migrations/` (setup.py maps the folder there), so a plain install finds
them as a package resource and an editable install or a checkout finds them beside `service/`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from evals.errors import TurnoutError
from service.settings import get_settings

SHIPPED_MIGRATIONS = "service.storage:migrations"
"""Alembic's package-resource notation for the copy a wheel ships."""

SOURCE_MIGRATIONS = Path(__file__).resolve().parents[2] / "alembic"
"""The folder of a source tree (an editable install, or the checkout on PYTHONPATH)."""


class SchemaOutOfDate(TurnoutError):
    """The database has not been migrated to the code's schema."""


def script_location() -> str:
    """Where Alembic finds the migrations: the shipped package resource, else the source tree's folder.

    Raises:
        TurnoutError: Neither holds `env.py` (an install that lost its migrations).
    """
    package, folder = SHIPPED_MIGRATIONS.split(":")
    shipped = resources.files(package) / folder
    if (shipped / "env.py").is_file():
        return SHIPPED_MIGRATIONS
    if (SOURCE_MIGRATIONS / "env.py").is_file():
        return str(SOURCE_MIGRATIONS)
    raise TurnoutError(f"Turnout's migrations are missing: neither {shipped} (an installed wheel) nor "
                       f"{SOURCE_MIGRATIONS} (a source tree) holds env.py; reinstall Turnout")


def alembic_config(url: str | None = None) -> Config:
    """Alembic's config for this project, pointed at *url* (default: the configured database).

    Built in code rather than read from `alembic.ini`, which only a source tree has; the ini file
    serves the `alembic` command run from the repository root (e.g. `alembic revision`).
    """
    config = Config()
    # set_main_option interpolates '%', which a path may contain.
    config.set_main_option("script_location", script_location().replace("%", "%%"))
    config.attributes["url"] = url or get_settings().database_url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply migrations up to *revision*."""
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    """The newest migration this installation ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None when it was never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_current(engine: Engine) -> None:
    """Raise SchemaOutOfDate, saying what to run, unless the database is at the newest migration."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no Turnout tables yet" if current is None else f"is at migration {current}, not {head}"
        raise SchemaOutOfDate(f"the database {engine.url.render_as_string(hide_password=True)} {state}; "
                              "run `turnout db upgrade` first")
