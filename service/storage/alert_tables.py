"""The alert outbox: one row per alert, one per route it goes out by, one per delivery attempt
(`service.storage.outbox` writes alerts, `service.storage.deliveries` their deliveries).

Registered on SQLModel's metadata by `service.storage.tables`, which imports this module last.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.storage.tables import _json, _text, utcnow


class AlertRow(SQLModel, table=True):
    """An alert in the outbox: written with the state change that caused it, delivered afterwards.

    `dedup_key` is unique (one message per watch and cycle) and travels with the Slack message in its
    `metadata`, so a delivery that may have reached Slack looks for it before sending again."""

    __tablename__ = "alert"

    id: int | None = Field(default=None, primary_key=True)
    watch_id: int = Field(foreign_key="watch.id", index=True)
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id", index=True)
    kind: str = Field(max_length=16)
    """An `evals.alerts.AlertKind`: what happened first in the cycle (the rest is folded in)."""
    dedup_key: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    subject: str = Field(default="", max_length=400)
    """What must change for the same kind to pass the cooldown (verdict and target, failure kinds)."""
    payload: dict[str, Any] = _json()
    """The `evals.alerts.AlertPayload` as JSON."""
    state: str = Field(default="pending", max_length=16, index=True)
    """Over its deliveries: `pending` while one is, else `failed` when one failed, else `delivered`;
    `skipped` when no route was configured."""
    attempts: int = 0
    """Delivery attempts started, over every route (news of the cycle is folded in only while 0)."""
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    """When the soonest pending delivery is due (the reconciler reads this); a delivery holds it past its end."""
    parent_id: int | None = Field(default=None, foreign_key="alert.id")
    """The verdict alert whose Slack thread this one replies in (and whose message it updates)."""
    route: str | None = Field(default=None, max_length=48)
    """The routes it goes out by, comma-separated: `slack`, `slack_webhook`, `webhook` (details per delivery)."""
    slack_channel_id: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)
    """The bot message's `ts` (copied from the `slack` delivery): a thread's parent for later alerts."""
    error: str | None = _text()
    """Why a delivery failed, or the last retryable error, with its route."""
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = Field(default=None)


class AlertDeliveryRow(SQLModel, table=True):
    """An alert on one route: each route keeps its own state and retries, so an outage of one never
    sends again by another that already has it. Made at the alert's first delivery, one per route
    whose variable is set there."""

    __tablename__ = "alert_delivery"
    __table_args__ = (sa.UniqueConstraint("alert_id", "route"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    route: str = Field(max_length=16)
    """`slack` (bot token, exactly once), `slack_webhook` or `webhook` (at least once)."""
    state: str = Field(default="pending", max_length=16, index=True)
    """`pending`, `delivered` or `failed`."""
    attempts: int = 0
    """Attempts started; after the first, a `slack` delivery looks for the message before posting it again."""
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    """When the next attempt is due; an attempt holds the row by moving this past its own end."""
    slack_channel_id: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)
    error: str | None = _text()
    """Why it failed, or the last retryable error."""
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = Field(default=None)


class AlertAttemptRow(SQLModel, table=True):
    """One delivery attempt of an alert on one route: what the receiver answered."""

    __tablename__ = "alert_attempt"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    delivery_id: int | None = Field(default=None, foreign_key="alert_delivery.id", index=True)
    """The route's delivery (None for `skipped`, and for attempts made before deliveries had rows)."""
    route: str | None = Field(default=None, max_length=16)
    status: str = Field(max_length=16)
    """`sent`, `found` (already in the channel), `retry`, `failed`, `skipped`."""
    error: str | None = _text()
    retry_after_s: float | None = None
    """The receiver's `Retry-After`, when it sent one."""
    created_at: datetime = Field(default_factory=utcnow)
