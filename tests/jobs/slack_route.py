"""The Slack peer as a watch's only alert route: the bot token and API URL set, every other route unset."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from service.settings import get_settings
from tests.peers.slack_peer import SlackPeer


@contextmanager
def slack_bot_route(monkeypatch: pytest.MonkeyPatch, **peer_options: Any) -> Iterator[SlackPeer]:
    """A running Slack peer reached by the bot token only (settings re-read on the way in and out)."""
    with SlackPeer(**peer_options) as peer:
        monkeypatch.setenv("SLACK_BOT_TOKEN", peer.token)
        monkeypatch.setenv("TURNOUT_SLACK_API_URL", peer.base_url)
        for name in ("SLACK_WEBHOOK_URL", "TURNOUT_WEBHOOK_URL", "TURNOUT_WEBHOOK_SECRET"):
            monkeypatch.delenv(name, raising=False)
        get_settings.cache_clear()
        yield peer
        get_settings.cache_clear()
