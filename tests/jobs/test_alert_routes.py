"""An alert fans out to every configured route, each delivered on its own: the bot exactly once, the
incoming webhook (through slack_sdk's `WebhookClient`) and the signed generic webhook at least once,
with the same `Idempotency-Key` on every try; all against the Slack peer over real sockets."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from jobs.alerts.deliver import deliver_now
from service.storage import deliveries, outbox
from service.storage.alert_tables import AlertAttemptRow, AlertDeliveryRow, AlertRow
from service.storage.db import session_scope
from service.storage.tables import WatchRow
from tests.peers.slack_peer import SlackPeer

SECRET = "whsec-test"


@pytest.fixture
def peer(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackPeer]:
    """The peer, with the three routes' variables pointing at it (the generic webhook signed)."""
    with SlackPeer(webhook_secret=SECRET) as running:
        monkeypatch.setenv("SLACK_BOT_TOKEN", running.token)
        monkeypatch.setenv("TURNOUT_SLACK_API_URL", running.base_url)
        monkeypatch.setenv("SLACK_WEBHOOK_URL", running.webhook_url)
        monkeypatch.setenv("TURNOUT_WEBHOOK_URL", running.generic_url)
        monkeypatch.setenv("TURNOUT_WEBHOOK_SECRET", SECRET)
        from service.settings import get_settings

        get_settings.cache_clear()
        yield running
        get_settings.cache_clear()


def new_alert() -> tuple[int, str]:
    with session_scope() as session:
        watch = session.exec(select(WatchRow)).one()
        row = outbox.create_test_alert(session, watch=watch)
        return row.id or 0, row.dedup_key


def by_route(alert_id: int) -> dict[str, AlertDeliveryRow]:
    with session_scope() as session:
        return {d.route: d for d in deliveries.of_alerts(session, alert_ids=[alert_id])[alert_id]}


def attempts(alert_id: int, route: str) -> list[tuple[str, float | None]]:
    with session_scope() as session:
        rows = session.exec(select(AlertAttemptRow).where(AlertAttemptRow.alert_id == alert_id,
                                                          AlertAttemptRow.route == route)
                            .order_by(col(AlertAttemptRow.id))).all()
        return [(row.status, row.retry_after_s) for row in rows]


def signed(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_one_alert_reaches_every_configured_route_once(applied: Path, peer: SlackPeer) -> None:
    # Given a watch whose bot token, incoming webhook and generic webhook are all set
    alert_id, key = new_alert()

    # when the alert is delivered
    assert deliver_now([alert_id], wait_s=10) == {alert_id: "delivered"}

    # then each route has it once: the bot with its key in the metadata, the incoming webhook as Block
    # Kit, the generic webhook as signed JSON carrying the key in its header and body
    assert [m.metadata["event_payload"]["key"] for m in peer.messages() if m.metadata] == [key]
    assert len(peer.webhook_posts) == 1 and peer.webhook_posts[0]["blocks"] == peer.messages()[0].blocks
    [(headers, body)] = peer.generic_posts
    assert headers["idempotency-key"] == key and headers["x-turnout-signature"] == signed(body)
    sent = json.loads(body)
    assert sent["key"] == key and sent["alert"]["kind"] == "test" and sent["text"].startswith("Test message")
    assert {route: d.state for route, d in by_route(alert_id).items()} == {
        "slack": "delivered", "slack_webhook": "delivered", "webhook": "delivered"}
    with session_scope() as session:
        row = session.get(AlertRow, alert_id)
        assert row is not None and row.route == "slack,slack_webhook,webhook" and row.attempts == 3
    # and delivering it again sends nothing anywhere
    assert deliver_now([alert_id], wait_s=0) == {alert_id: "delivered"}
    assert (len(peer.messages()), len(peer.webhook_posts), len(peer.generic_posts)) == (1, 1, 1)


def test_a_slack_outage_does_not_send_the_webhooks_again(applied: Path, peer: SlackPeer) -> None:
    # Given Slack's Web API answering 503, the webhooks up
    alert_id, _ = new_alert()
    peer.down = "api"

    # when the alert is delivered and tried again while Slack is down
    assert deliver_now([alert_id], wait_s=2) == {alert_id: "pending"}
    routes = by_route(alert_id)
    assert (routes["slack"].state, routes["webhook"].state, routes["slack_webhook"].state) == (
        "pending", "delivered", "delivered")
    assert [status for status, _ in attempts(alert_id, "slack")] == ["retry", "retry"]

    # when Slack answers again
    peer.down = False
    assert deliver_now([alert_id], wait_s=10) == {alert_id: "delivered"}

    # then the bot posted once, and the webhooks that had it were not sent it again
    assert len(peer.messages()) == 1
    assert (len(peer.webhook_posts), len(peer.generic_posts)) == (1, 1)
    assert attempts(alert_id, "webhook") == [("sent", None)]
    assert attempts(alert_id, "slack_webhook") == [("sent", None)]


def test_the_generic_webhook_retries_429_and_5xx_with_one_idempotency_key(
        applied: Path, peer: SlackPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given only the generic webhook set, answering 429 (Retry-After 1) then 500 then OK
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.delenv("SLACK_WEBHOOK_URL")
    alert_id, key = new_alert()
    peer.fail_next(1, "429", "generic")
    peer.fail_next(1, "500", "generic")

    # when it is delivered on the retry schedule
    assert deliver_now([alert_id], wait_s=30) == {alert_id: "delivered"}

    # then three requests went out, each with the same key and a valid signature of its own body,
    # and the receiver accepted one
    tries = peer.generic_requests
    assert len(tries) == 3 and {headers["idempotency-key"] for headers, _ in tries} == {key}
    assert all(headers["x-turnout-signature"] == signed(body) for headers, body in tries)
    assert len(peer.generic_posts) == 1 and peer.rejected == []
    assert attempts(alert_id, "webhook") == [("retry", 1.0), ("retry", None), ("sent", None)]
    assert list(by_route(alert_id)) == ["webhook"]


def test_a_wrong_webhook_secret_is_refused_and_fails_at_once(
        applied: Path, peer: SlackPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the generic webhook signed with another secret than the receiver's
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.delenv("SLACK_WEBHOOK_URL")
    monkeypatch.setenv("TURNOUT_WEBHOOK_SECRET", "not-the-receivers")
    alert_id, _ = new_alert()

    # then the receiver refuses the signature, and the alert fails at once with the HTTP status
    assert deliver_now([alert_id], wait_s=30) == {alert_id: "failed"}
    assert peer.rejected == [(401, "bad or missing X-Turnout-Signature")] and peer.generic_posts == []
    with session_scope() as session:
        row = session.get(AlertRow, alert_id)
        assert row is not None and row.error == "webhook: HTTP 401"
        assert "not-the-receivers" not in (row.error or "")
    # and without any secret set, the receiver that wants one refuses the unsigned body just as well
    monkeypatch.delenv("TURNOUT_WEBHOOK_SECRET")
    unsigned, _ = new_alert()
    assert deliver_now([unsigned], wait_s=30) == {unsigned: "failed"}
    assert "x-turnout-signature" not in peer.generic_requests[-1][0]


def test_the_incoming_webhook_retries_5xx_and_refuses_a_wrong_url(
        applied: Path, peer: SlackPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given only the incoming webhook set, answering 503 once
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.delenv("TURNOUT_WEBHOOK_URL")
    alert_id, _ = new_alert()
    peer.fail_next(1, "503", "webhook")

    # then it is posted once, after one retry
    assert deliver_now([alert_id], wait_s=10) == {alert_id: "delivered"}
    assert len(peer.webhook_posts) == 1 and peer.webhook_posts[0]["text"].startswith("Test message")
    assert attempts(alert_id, "slack_webhook") == [("retry", None), ("sent", None)]

    # and a URL Slack did not issue fails at once with Slack's answer
    monkeypatch.setenv("SLACK_WEBHOOK_URL", peer.webhook_url.replace("peersecret", "revoked"))
    wrong, _ = new_alert()
    assert deliver_now([wrong], wait_s=10) == {wrong: "failed"}
    with session_scope() as session:
        row = session.get(AlertRow, wrong)
        assert row is not None and row.error == "slack_webhook: no_service"
    assert len(peer.webhook_posts) == 1
