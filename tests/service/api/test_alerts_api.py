"""The alert outbox over HTTP: viewers list alerts with deliveries and attempts, page by page; editors
(not viewers) retry a failed one, and only its failed route is due again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import select

from service.storage import deliveries, outbox
from service.storage.alert_tables import AlertDeliveryRow
from service.storage.db import session_scope
from service.storage.tables import WatchRow


def failed_on_slack() -> int:
    """An alert the generic webhook received and the bot could not post (a bad token)."""
    with session_scope() as session:
        watch = session.exec(select(WatchRow)).one()
        alert_id = outbox.create_test_alert(session, watch=watch).id or 0
        claim = deliveries.claim(session, alert_id=alert_id, routes=["slack", "webhook"], hold=timedelta(seconds=30))
        assert claim is not None
        by_route = {d.route: d.delivery_id for d in claim.deliveries}
    with session_scope() as session:
        deliveries.record(session, delivery_id=by_route["webhook"], status="sent")
        assert deliveries.record(session, delivery_id=by_route["slack"], status="failed",
                                 error="invalid_auth") == "failed"
    return alert_id


def test_viewers_list_alerts_with_their_deliveries_and_attempts(applied: Path, client: TestClient,
                                                                tokens: dict[str, str]) -> None:
    first, second = failed_on_slack(), failed_on_slack()
    viewer = {"Authorization": tokens["viewer"]}

    page = client.get("/api/v1/alerts", params={"limit": 1}, headers=viewer)
    assert page.status_code == 200, page.text
    [alert] = page.json()["alerts"]
    assert (alert["id"], alert["watch"], alert["state"], alert["kind"]) == (second, "qa-watch", "failed", "test")
    assert [(d["route"], d["state"], d["error"]) for d in alert["deliveries"]] == [
        ("slack", "failed", "invalid_auth"), ("webhook", "delivered", None)]
    assert [(a["route"], a["status"]) for a in alert["attempts"]] == [("webhook", "sent"), ("slack", "failed")]
    assert alert["error"] == "slack: invalid_auth"
    # the next page has the older one, and nothing after it
    older = client.get("/api/v1/alerts", params={"limit": 1, "cursor": page.json()["next_cursor"]}, headers=viewer)
    assert [a["id"] for a in older.json()["alerts"]] == [first] and older.json()["next_cursor"] is None
    # filters and a single alert
    assert client.get("/api/v1/alerts", params={"state": "delivered"}, headers=viewer).json()["alerts"] == []
    assert len(client.get("/api/v1/alerts", params={"watch": "qa-watch"}, headers=viewer).json()["alerts"]) == 2
    one = client.get(f"/api/v1/alerts/{first}", headers=viewer)
    assert one.status_code == 200 and one.json()["dedup_key"].startswith("turnout:")
    missing = client.get("/api/v1/alerts/99999", headers=viewer)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/alerts").status_code == 401


def test_editors_retry_a_failed_alert_and_viewers_may_not(applied: Path, client: TestClient,
                                                          tokens: dict[str, str]) -> None:
    alert_id = failed_on_slack()

    # a viewer may read it but not retry it
    refused = client.post(f"/api/v1/alerts/{alert_id}/retry", headers={"Authorization": tokens["viewer"]})
    assert refused.status_code == 403 and "needs editor" in refused.json()["detail"]

    # an editor retries it: the failed bot route is due again, the webhook that has it is left alone
    retried = client.post(f"/api/v1/alerts/{alert_id}/retry", headers={"Authorization": tokens["editor"]})
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert body["state"] == "pending"
    assert [(d["route"], d["state"]) for d in body["deliveries"]] == [("slack", "pending"), ("webhook", "delivered")]
    with session_scope() as session:
        assert outbox.due(session) == [alert_id]
        webhook = session.exec(select(AlertDeliveryRow).where(AlertDeliveryRow.route == "webhook")).one()
        assert webhook.attempts == 1
    # an admin may too; a pending alert is not retried again, and the write is in the audit log
    again = client.post(f"/api/v1/alerts/{alert_id}/retry", headers={"Authorization": tokens["admin"]})
    assert again.status_code == 409 and "is pending" in again.json()["detail"]
    audit = client.get("/api/v1/audit", headers={"Authorization": tokens["admin"]}).json()["entries"]
    assert [(e["action"], e["target"], e["actor"]) for e in audit][:1] == [
        ("alert.retry", f"alert:{alert_id}", "editor-test")]
    assert client.post("/api/v1/alerts/99999/retry", headers={"Authorization": tokens["editor"]}).status_code == 404
