"""Sending one alert message through one route, and what the receiver answered, as an `Outcome`.

A Slack bot delivery that may have reached Slack before (a delivery that died, a timeout after
sending) looks for its dedup key in the channel's history first: that is what makes it exactly
once. Incoming webhooks and generic webhooks cannot be asked: they are at least once (the generic
webhook carries an `Idempotency-Key`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError

from evals.alerts import SlackMessage

log = logging.getLogger(__name__)

Status = Literal["sent", "found", "retry", "failed"]

EVENT_TYPE = "turnout_alert"
"""The `metadata.event_type` of every message Turnout posts."""
HISTORY_SKEW = timedelta(minutes=5)
"""`oldest` is the alert's creation less this, for clocks that disagree."""
TIMEOUT_S = 15
"""Seconds an HTTP call may take; a delivery holds its row for at least three times this long, so a slow
call is over before another delivery may look for the message."""
RETRYABLE_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout",
                              "ratelimited"})
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    status: Status
    """`sent`, `found` (it was in the channel already), `retry`, `failed`."""
    error: str | None = None
    """The receiver's error (never a secret)."""
    retry_after_s: float | None = None
    """The receiver's `Retry-After`."""
    channel_id: str | None = None
    ts: str | None = None


@dataclass(frozen=True)
class SlackTarget:
    """Where and how a bot delivery posts."""

    key: str
    """The alert's dedup key, carried in the message's metadata."""
    channel: str
    """`alerts.slack_channel`: `#name` or an ID."""
    channel_id: str | None
    """The channel's ID when known (from an earlier answer)."""
    created_at: datetime
    """When the alert was made: the history is searched from there."""
    may_exist: bool
    """An earlier attempt may have posted it: look before sending."""
    thread_ts: str | None = None
    """The parent message's ts, for a reply in a thread (the parent is updated too)."""


def post_to_slack(*, token: str, api_url: str, target: SlackTarget, message: SlackMessage,
                  timeout_s: float = TIMEOUT_S) -> Outcome:
    """Post *message* with the bot token, at most once per key (see the module docstring)."""
    # retry_handlers=[]: the default handler re-sends on a connection error by itself, around the check.
    client = WebClient(token=token, base_url=api_url, retry_handlers=[], timeout=max(int(timeout_s), 1))
    try:
        channel_id = target.channel_id or (target.channel if _CHANNEL_ID.match(target.channel) else None)
        if target.may_exist:
            channel_id = channel_id or _resolve(client, target.channel)
            if channel_id is None:
                return Outcome(status="failed", error=f"channel_not_found: {target.channel}")
            ts = _find(client, channel_id=channel_id, target=target)
            if ts is not None:
                _update_parent(client, channel_id, target, message)
                return Outcome(status="found", channel_id=channel_id, ts=ts)
        answer = client.chat_postMessage(
            channel=channel_id or target.channel, text=message.text, blocks=message.blocks,
            thread_ts=target.thread_ts, unfurl_links=False,
            metadata={"event_type": EVENT_TYPE, "event_payload": {"key": target.key}})
        channel_id = str(answer["channel"])
        _update_parent(client, channel_id, target, message)
        return Outcome(status="sent", channel_id=channel_id, ts=str(answer["ts"]))
    except SlackApiError as exc:
        return _api_error(exc.response.status_code, exc.response.get("error"), exc.response.headers)
    except (urllib.error.URLError, OSError) as exc:
        return Outcome(status="retry", error=f"Slack could not be reached: {type(exc).__name__}")


def _resolve(client: WebClient, channel: str) -> str | None:
    name = channel.removeprefix("#")
    cursor = None
    while True:
        page = client.conversations_list(types="public_channel,private_channel", limit=1000, cursor=cursor)
        for item in page.get("channels") or []:
            if item.get("name") == name:
                return str(item["id"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None


def _find(client: WebClient, *, channel_id: str, target: SlackTarget) -> str | None:
    oldest = f"{(target.created_at - HISTORY_SKEW).timestamp():.6f}"
    if target.thread_ts is not None:
        messages = client.conversations_replies(channel=channel_id, ts=target.thread_ts, include_all_metadata=True,
                                                oldest=oldest, limit=200).get("messages") or []
    else:
        messages = client.conversations_history(channel=channel_id, oldest=oldest, include_all_metadata=True,
                                                limit=200).get("messages") or []
    for message in messages:
        metadata: dict[str, Any] = message.get("metadata") or {}
        if metadata.get("event_type") == EVENT_TYPE and (metadata.get("event_payload") or {}).get("key") == target.key:
            return str(message["ts"])
    return None


def _update_parent(client: WebClient, channel_id: str, target: SlackTarget, message: SlackMessage) -> None:
    if target.thread_ts is None:
        return
    try:
        client.chat_update(channel=channel_id, ts=target.thread_ts, text=message.text, blocks=message.blocks)
    except SlackApiError as exc:  # the reply is what counts; a stale parent is logged, not retried
        log.warning("could not update the thread's first message: %s", exc.response.get("error"))


def _api_error(status: int, error: Any, headers: Any) -> Outcome:
    if status == 429:
        return Outcome(status="retry", error="ratelimited", retry_after_s=_retry_after(headers))
    if status >= 500:
        return Outcome(status="retry", error=f"HTTP {status}")
    if error in RETRYABLE_ERRORS:
        return Outcome(status="retry", error=str(error))
    return Outcome(status="failed", error=str(error or f"HTTP {status}"))


def _retry_after(headers: Any) -> float | None:
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def post_to_slack_webhook(*, url: str, message: SlackMessage) -> Outcome:
    """Post through a Slack incoming webhook (at least once: a webhook cannot be asked what it has)."""
    try:
        answer = WebhookClient(url, retry_handlers=[], timeout=TIMEOUT_S).send(text=message.text,
                                                                                 blocks=message.blocks)
    except (urllib.error.URLError, OSError) as exc:
        return Outcome(status="retry", error=f"the webhook could not be reached: {type(exc).__name__}")
    if answer.status_code == 200:
        return Outcome(status="sent")
    return _api_error(answer.status_code, answer.body, answer.headers)


def post_to_webhook(*, url: str, secret: str | None, key: str, payload: dict[str, Any],
                    message: SlackMessage) -> Outcome:
    """POST the alert as JSON, with `Idempotency-Key` and, with a secret, `X-Turnout-Signature: sha256=...`
    (HMAC-SHA256 over the raw body). At least once: receivers drop repeats by the key."""
    body = json.dumps({"key": key, "text": message.text, "alert": payload}, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": key, "User-Agent": "turnout-alerts"}
    if secret:
        headers["X-Turnout-Signature"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S):
            return Outcome(status="sent")
    except urllib.error.HTTPError as exc:
        return _api_error(exc.code, f"HTTP {exc.code}", exc.headers)
    except (urllib.error.URLError, OSError) as exc:
        return Outcome(status="retry", error=f"the webhook could not be reached: {type(exc).__name__}")
