"""Alerts, pure: where a watch's alerts go, what an alert says, when one is held back, and its Slack message."""

from evals.alerts.message import AlertKind, AlertPayload, FailedRun, held_back
from evals.alerts.render import SlackMessage, escape, render
from evals.alerts.routes import AlertRoutes

__all__ = ["AlertKind", "AlertPayload", "AlertRoutes", "FailedRun", "SlackMessage", "escape", "held_back", "render"]
