"""Roles both ways, writes through `apply`'s code path, and the audit log of every write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.storage import catalog
from service.storage.db import session_scope
from tests.peers.watch import CASES

CONFIG = """\
golden_sets:
  - {name: qa, file: data/qa.jsonl}
models:
  - {name: prod, base_url: "http://127.0.0.1:1/v1", model: m1, hosting: self_hosted, api_key_env: PROD_KEY}
watches:
  - {name: w, golden_set: qa, production: prod, scorers: [exact_match], schedule: "0 6 * * *"}
"""
CASES_JSONL = "".join(json.dumps(case) + "\n" for case in CASES).encode()


def bundle(config: str = CONFIG, files: dict[str, bytes] | None = None) -> list[tuple[str, tuple[str, bytes]]]:
    parts = [("config", ("turnout.yaml", config.encode()))]
    parts += [("files", (path, content)) for path, content in (files or {"data/qa.jsonl": CASES_JSONL}).items()]
    return parts


def put_config(client: TestClient, token: str, *, params: dict[str, str] | None = None,
               parts: list[tuple[str, tuple[str, bytes]]] | None = None):  # type: ignore[no-untyped-def]
    return client.put("/api/v1/config", files=parts or bundle(), params=params or {},
                      headers={"Authorization": token})


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", "/api/v1/watches", "viewer"),
    ("GET", "/api/v1/cycles", "viewer"),
    ("POST", "/api/v1/watches/w/pause", "editor"),
    ("POST", "/api/v1/watches/w/resume", "editor"),
    ("GET", "/api/v1/tokens", "admin"),
    ("GET", "/api/v1/audit", "admin"),
])
def test_each_role_boundary_both_ways(client: TestClient, tokens: dict[str, str], method: str, path: str,
                                      allowed: str) -> None:
    assert put_config(client, tokens["admin"]).status_code == 200
    roles = ["viewer", "editor", "admin"]
    for role in roles:
        answer = client.request(method, path, headers={"Authorization": tokens[role]})
        if roles.index(role) >= roles.index(allowed):
            assert answer.status_code == 200, (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert allowed in answer.json()["detail"]


def test_no_token_or_a_revoked_one_is_401(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/api/v1/watches").status_code == 401
    assert client.get("/api/v1/watches", headers={"Authorization": "Bearer tnt_nope"}).status_code == 401
    admin = {"Authorization": tokens["admin"]}
    listed = client.get("/api/v1/tokens", headers=admin).json()["tokens"]
    viewer_id = next(t["id"] for t in listed if t["role"] == "viewer")
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert client.get("/api/v1/watches", headers={"Authorization": tokens["viewer"]}).status_code == 200
    assert client.delete(f"/api/v1/tokens/{viewer_id}", headers=admin).status_code == 200
    revoked = client.get("/api/v1/watches", headers={"Authorization": tokens["viewer"]})
    assert revoked.status_code == 401 and revoked.headers["www-authenticate"] == "Bearer"


def test_put_config_answers_what_apply_did_and_a_dry_run_stores_nothing(client: TestClient,
                                                                        tokens: dict[str, str]) -> None:
    dry = put_config(client, tokens["admin"], params={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] and {c["action"] for c in dry.json()["changes"]} == {"created"}
    with session_scope() as session:
        assert catalog.list_watches(session) == []
    created = put_config(client, tokens["admin"]).json()["changes"]
    assert [(c["kind"], c["name"], c["action"]) for c in created] == [
        ("golden_set", "qa", "created"), ("model", "prod", "created"), ("watch", "w", "created")]
    again = put_config(client, tokens["editor"]).json()["changes"]   # nothing to change: an editor may
    assert {c["action"] for c in again} == {"unchanged"}
    with session_scope() as session:
        assert [w.name for w in catalog.list_watches(session)] == ["w"]   # what `turnout watches` lists


def test_models_change_only_with_an_admin_token(client: TestClient, tokens: dict[str, str]) -> None:
    refused = put_config(client, tokens["editor"])
    assert refused.status_code == 403 and "prod" in refused.json()["detail"]
    with session_scope() as session:
        assert catalog.list_models(session) == [] and catalog.list_golden_sets(session) == []


def test_a_file_missing_from_the_bundle_is_a_422_naming_the_field(client: TestClient,
                                                                   tokens: dict[str, str]) -> None:
    answer = put_config(client, tokens["admin"], parts=bundle(files={"other.jsonl": CASES_JSONL}))
    assert answer.status_code == 422
    problem = answer.json()
    assert (problem["file"], problem["line"], problem["field"]) == ("turnout.yaml", 2, "golden_sets[0].file")
    escape = put_config(client, tokens["admin"], parts=bundle(CONFIG.replace("data/qa.jsonl", "../../etc/passwd")))
    assert escape.status_code == 422 and escape.json()["field"] == "golden_sets[0].file"
    broken = put_config(client, tokens["admin"], parts=bundle(CONFIG.replace("exact_match", "no_such_scorer")))
    assert broken.status_code == 422 and broken.json()["field"] == "watches[0].scorers"
    assert "/tmp" not in broken.json()["detail"] and broken.json()["file"] == "turnout.yaml"


def test_pause_resume_trigger_and_the_audit_log(client: TestClient, tokens: dict[str, str]) -> None:
    assert put_config(client, tokens["admin"]).status_code == 200
    editor = {"Authorization": tokens["editor"]}
    assert client.post("/api/v1/watches/w/pause", headers=editor).json()["action"] == "updated"
    assert client.get("/api/v1/watches/w", headers=editor).json()["paused"] is True
    assert client.post("/api/v1/watches/w/pause", headers=editor).json()["action"] == "unchanged"
    assert client.post("/api/v1/watches/w/resume", headers=editor).json()["action"] == "updated"
    assert client.post("/api/v1/watches/nope/pause", headers=editor).status_code == 404
    queued = client.post("/api/v1/watches/w/cycles", headers=editor)
    assert queued.status_code == 202, queued.text
    cycle_id = queued.json()["cycle_id"]
    cycles = client.get("/api/v1/cycles", headers=editor).json()["cycles"]
    assert [(c["cycle_id"], c["trigger"]) for c in cycles] == [(cycle_id, "manual")]
    audit = client.get("/api/v1/audit", headers={"Authorization": tokens["admin"]}).json()["entries"]
    assert [(e["actor"], e["action"], e["target"]) for e in audit[:4]] == [
        ("editor-test", "cycle.trigger", f"cycle:{cycle_id}"), ("editor-test", "watch.resume", "watch:w"),
        ("editor-test", "watch.pause", "watch:w"), ("admin-test", "config.apply", "config")]
    assert all(e["created_at"] for e in audit)


def test_metrics_count_cycles_and_cases_from_the_database(client: TestClient, ran: int, tmp_path: Path) -> None:
    text = client.get("/metrics").text
    assert 'turnout_cycles{state="finished"} 1.0' in text
    assert "turnout_cases_replayed_total 8.0" in text      # 4 cases x 2 models
    assert 'turnout_completion_errors_total{kind="' in text  # the refused case
    assert "turnout_api_requests_total" in text


PROMPTFOO_CONFIG = """\
golden_sets:
  - {name: pf, file: suite/promptfooconfig.yaml, format: promptfoo}
models:
  - {name: prod, base_url: "http://127.0.0.1:1/v1", model: m1, hosting: self_hosted}
watches:
  - {name: pw, golden_set: pf, production: prod, scorers: [asserts], schedule: "0 6 * * *"}
"""


def test_a_bundled_promptfoo_suite_reads_only_files_of_the_bundle(client: TestClient, tokens: dict[str, str],
                                                                 tmp_path: Path) -> None:
    # a var read from a file of the bundle is fine
    suite = (b'prompts: ["Answer: {{q}}"]\ntests:\n  - vars: {q: "file://question.txt"}\n'
             b'    assert: [{type: contains, value: x}]\n')
    inside = put_config(client, tokens["admin"], parts=bundle(PROMPTFOO_CONFIG, files={
        "suite/promptfooconfig.yaml": suite, "suite/question.txt": b"What is x?"}))
    assert inside.status_code == 200, inside.text
    # a var naming a file of the server is refused, by name, and nothing of it is read
    secret = tmp_path / "secret.txt"
    secret.write_text("the server's secret")
    for ref in (f"file://{secret}", "file://../../../" + "../" * 8 + str(secret).lstrip("/")):
        leaking = suite.replace(b"file://question.txt", ref.encode())
        answer = put_config(client, tokens["admin"], parts=bundle(PROMPTFOO_CONFIG, files={
            "suite/promptfooconfig.yaml": leaking}))
        assert answer.status_code == 422, answer.text
        assert "outside the uploaded bundle" in answer.json()["detail"]
        assert "the server's secret" not in answer.text
