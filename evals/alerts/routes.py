"""Where a watch's alerts go (`alerts:` in turnout.yaml): only environment variable names, never secrets."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AlertRoutes(BaseModel):
    """A watch's alert routes; a route whose environment variable is unset is skipped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    slack_channel: str = Field(default="#llm-ops", min_length=1)
    """The channel the bot posts to: `#name` or its ID."""
    slack_token_env: str = Field(default="SLACK_BOT_TOKEN", min_length=1)
    """The variable holding the bot token (`chat:write`, `channels:history` or `groups:history`)."""
    slack_webhook_env: str = Field(default="SLACK_WEBHOOK_URL", min_length=1)
    """The variable holding a Slack incoming-webhook URL (used when no bot token is set)."""
    webhook_url_env: str = Field(default="TURNOUT_WEBHOOK_URL", min_length=1)
    """The variable holding a generic JSON webhook's URL."""
    webhook_secret_env: str = Field(default="TURNOUT_WEBHOOK_SECRET", min_length=1)
    """The variable holding the HMAC-SHA256 key that signs the generic webhook's body."""
