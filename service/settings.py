"""Validated settings from the environment (`TURNOUT_*`), read when asked, never at import."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///turnout.db"
"""The embedded default: a SQLite file in the working directory."""


def normalise_database_url(url: str) -> str:
    """Rewrite plain `postgresql://` (or `postgres://`) URLs to the installed psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if url.startswith("postgresql+psycopg2://"):
        # psycopg2 is not a dependency; psycopg 3 speaks the same URLs.
        return "postgresql+psycopg://" + url[len("postgresql+psycopg2://"):]
    return url


IN_PROCESS_BROKER = "memory://"
"""The broker of the embedded default (`turnout up`): Celery's in-process transport."""


class Settings(BaseSettings):
    """Turnout's settings. Every field is read from `TURNOUT_<FIELD>` (case-insensitive)."""

    model_config = SettingsConfigDict(env_prefix="TURNOUT_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    """SQLAlchemy URL; plain `postgresql://user@host:port/db` works."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Broker and locks for the workers."""
    broker_url: str | None = None
    """The Celery broker; default: `redis_url`. `turnout up` sets `IN_PROCESS_BROKER`, and with it
    every part of the process (rate limits included) stays off Redis."""
    reconcile_after_s: float = 60.0
    """A run or cycle step silent for this long is handed to the queue again."""
    lease_s: float = 45.0
    """A replay or step lease not renewed for this long is over (a worker died); renewed every third of it."""
    visibility_timeout_s: float = 3600.0
    """Redis hands a message that no worker acknowledged within this long to another worker."""
    step_max_attempts: int = 3
    """A scoring or analysis step that fails this many times (not counting database outages) fails the cycle."""
    leader_ttl_s: float = 30.0
    """A scheduler leader that stops renewing its lock is replaced after this long."""
    scheduler_sync_s: float = 10.0
    """How often the scheduler reads the watches table and the reconciler looks for silent work."""
    db_pool_size: int = 10
    db_connect_timeout_s: float = 10.0
    score_concurrency: int = 16
    """Scorer calls in flight at once while scoring a cycle."""
    slack_api_url: str = "https://slack.com/api/"
    """The Slack Web API's base URL (`TURNOUT_SLACK_API_URL`): a Slack-compatible server, or a test peer."""
    alert_wait_s: float = 40.0
    """How long `turnout run` keeps retrying its cycle's alerts before it exits (the outbox keeps the rest)."""
    public_url: str | None = None
    """Where the dashboard is reachable (`TURNOUT_PUBLIC_URL`); alerts link to it. Unset: no link."""

    @field_validator("database_url")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return normalise_database_url(value.strip())

    @property
    def broker(self) -> str:
        """The Celery broker URL."""
        return self.broker_url or self.redis_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached; tests call `get_settings.cache_clear()` after changing env)."""
    return Settings()
