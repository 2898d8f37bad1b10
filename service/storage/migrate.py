"""Schema migrations through Alembic, callable from the CLI and tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from evals.errors import TurnoutError
from service.settings import get_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SchemaOutOfDate(TurnoutError):
    """The database has not been migrated to the code's schema."""


def alembic_config(url: str | None = None) -> Config:
    """Alembic's config for this project, pointed at *url* (default: the configured database)."""
    ini = PROJECT_ROOT / "alembic.ini"
    if not ini.exists():
        raise TurnoutError(f"{ini} is missing: Turnout must be installed from its source tree (pip install -e .)")
    config = Config(str(ini))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["url"] = url or get_settings().database_url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply migrations up to *revision*."""
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    """The newest migration in the source tree."""
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
