"""The cycle writes the dashboard has, over HTTP: cancel a cycle (`turnout cancel`), advise it again with
the current policy (`turnout advise --recompute`), pin a run as its model's drift reference (`turnout drift
--pin`), and an admin's test alert (`turnout alerts test`). Roles both ways, problem details, the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from evals.config import load_config
from service.storage import access, advice, catalog
from service.storage.alert_tables import AlertRow
from service.storage.db import session_scope
from service.storage.drift_tables import DriftPinRow


def _audited(action: str) -> list[access.AuditEntryPublic]:
    with session_scope() as session:
        return [entry for entry in access.audit_log(session, limit=200).entries if entry.action == action]


def _problem(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    return str(answer.json()["detail"])


def test_an_editor_cancels_a_queued_cycle_once(client: TestClient, tokens: dict[str, str], applied: Path) -> None:
    from jobs import pipeline

    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="manual")
    viewer, editor = {"Authorization": tokens["viewer"]}, {"Authorization": tokens["editor"]}
    assert "needs editor" in _problem(client.post(f"/api/v1/cycles/{cycle_id}/cancel", headers=viewer), 403)
    assert client.get(f"/api/v1/cycles/{cycle_id}", headers=viewer).json()["state"] == "queued"

    done = client.post(f"/api/v1/cycles/{cycle_id}/cancel", headers=editor)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "cancelled" and {run["state"] for run in done.json()["runs"]} == {"cancelled"}
    assert client.get(f"/api/v1/cycles/{cycle_id}", headers=viewer).json()["state"] == "cancelled"
    assert "already cancelled" in _problem(client.post(f"/api/v1/cycles/{cycle_id}/cancel", headers=editor), 409)
    assert "no cycle" in _problem(client.post("/api/v1/cycles/99999/cancel", headers=editor), 404).lower()
    [entry] = _audited("cycle.cancel")
    assert (entry.actor, entry.target) == ("editor-test", f"cycle:{cycle_id}")


def test_an_editor_advises_a_finished_cycle_again_with_the_current_policy(
        client: TestClient, tokens: dict[str, str], applied: Path, ran: int) -> None:
    from jobs import pipeline

    queued = pipeline.start_cycle(watch="qa-watch", trigger="manual")
    applied.write_text(applied.read_text() + "    policy: {margin: 0.4}\n")  # the watch is the file's last entry
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(applied))
        assert advice.recommendation(session, watch_name="qa-watch").inputs["policy"]["margin"] == 0.05
    viewer, editor = {"Authorization": tokens["viewer"]}, {"Authorization": tokens["editor"]}
    assert "needs editor" in _problem(client.post(f"/api/v1/cycles/{ran}/advise", headers=viewer), 403)

    again = client.post(f"/api/v1/cycles/{ran}/advise", headers=editor)
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["cycle_id"] == ran and body["watch"] == "qa-watch"
    assert body["inputs"]["policy"]["margin"] == 0.4 and body["inputs"]["recomputed"] is True
    read = client.get("/api/v1/watches/qa-watch/recommendation", headers=viewer)
    assert read.status_code == 200 and read.json()["inputs"]["policy"]["margin"] == 0.4
    [entry] = _audited("recommendation.recompute")
    assert entry.target == f"cycle:{ran}"
    assert "no recommendation to make again" in _problem(
        client.post(f"/api/v1/cycles/{queued}/advise", headers=editor), 409)
    _problem(client.post("/api/v1/cycles/99999/advise", headers=editor), 404)
    assert len(_audited("recommendation.recompute")) == 1


def test_an_editor_pins_a_run_as_its_models_drift_reference(
        client: TestClient, tokens: dict[str, str], applied: Path, ran: int) -> None:
    from jobs import pipeline

    viewer, editor = {"Authorization": tokens["viewer"]}, {"Authorization": tokens["editor"]}
    runs = client.get(f"/api/v1/cycles/{ran}", headers=viewer).json()["runs"]
    production = next(run["run_id"] for run in runs if run["role"] == "production")
    assert "needs editor" in _problem(client.post(f"/api/v1/runs/{production}/pin", headers=viewer), 403)

    pinned = client.post(f"/api/v1/runs/{production}/pin", headers=editor)
    assert pinned.status_code == 200, pinned.text
    assert {k: pinned.json()[k] for k in ("watch", "model", "run_id")} == {
        "watch": "qa-watch", "model": "prod", "run_id": production}
    with session_scope() as session:
        [pin] = session.exec(select(DriftPinRow)).all()
        assert pin.run_id == production
    [entry] = _audited("drift.pin")
    assert entry.target == f"run:{production}" and entry.detail == {"watch": "qa-watch"}

    # a run that answered nothing (cancelled before it started) is refused by field, and nothing changes
    queued = pipeline.start_cycle(watch="qa-watch", trigger="manual")
    assert client.post(f"/api/v1/cycles/{queued}/cancel", headers=editor).status_code == 200
    empty = next(run["run_id"] for run in client.get(f"/api/v1/cycles/{queued}", headers=viewer).json()["runs"]
                 if run["role"] == "production")
    refused = client.post(f"/api/v1/runs/{empty}/pin", headers=editor)
    assert "no answered case" in _problem(refused, 422) and refused.json()["field"] == "--pin"
    with session_scope() as session:
        assert [pin.run_id for pin in session.exec(select(DriftPinRow)).all()] == [production]
    _problem(client.post("/api/v1/runs/99999/pin", headers=editor), 404)
    assert len(_audited("drift.pin")) == 1


def test_an_admin_sends_a_test_alert_through_the_watchs_routes(
        client: TestClient, tokens: dict[str, str], applied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "TURNOUT_WEBHOOK_URL"):
        monkeypatch.delenv(variable, raising=False)
    editor, admin = {"Authorization": tokens["editor"]}, {"Authorization": tokens["admin"]}
    assert "needs admin" in _problem(client.post("/api/v1/watches/qa-watch/alerts/test", headers=editor), 403)
    unrouted = _problem(client.post("/api/v1/watches/qa-watch/alerts/test", headers=admin), 409)
    assert "TURNOUT_WEBHOOK_URL" in unrouted and "no route" in unrouted
    _problem(client.post("/api/v1/watches/nowhere/alerts/test", headers=admin), 404)
    with session_scope() as session:
        assert session.exec(select(AlertRow)).all() == []

    monkeypatch.setenv("TURNOUT_WEBHOOK_URL", "http://127.0.0.1:1/hook")
    sent = client.post("/api/v1/watches/qa-watch/alerts/test", headers=admin)
    assert sent.status_code == 202, sent.text
    assert (sent.json()["kind"], sent.json()["watch"], sent.json()["state"]) == ("test", "qa-watch", "pending")
    with session_scope() as session:
        [row] = session.exec(select(AlertRow)).all()
        assert row.id == sent.json()["id"] and row.kind == "test"
    [entry] = _audited("alert.test")
    assert entry.target == f"alert:{sent.json()['id']}" and entry.actor == "admin-test"
