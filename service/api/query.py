"""Query parameters shared by the read routes: time ranges in UTC, and their validation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator


def _utc(value: datetime) -> datetime:
    """*value* in UTC (a time without offset is taken as UTC); a time that has no UTC equivalent is refused."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the time is out of range once converted to UTC") from exc


UtcTime = Annotated[datetime, AfterValidator(_utc)]

Since = Annotated[UtcTime | None, Query(description="only from this time on (ISO 8601; without an offset: UTC)")]
Until = Annotated[UtcTime | None, Query(description="only before this time (ISO 8601; without an offset: UTC)")]
