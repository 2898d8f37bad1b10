"""Models and watches one at a time over HTTP: the checks of `turnout apply`, roles both ways, and a
write that `turnout watches` shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from evals.config import load_config
from service.storage import catalog
from service.storage.db import session_scope

WATCH = {"golden_set": "qa", "production": "prod", "candidates": ["cand"],
         "scorers": [{"name": "exact_match"}, {"name": "contains", "primary": True}], "schedule": "0 7 * * 1"}
MODEL = {"base_url": "http://127.0.0.1:1/v1", "model": "other-model", "hosting": "self_hosted",
         "api_key_env": "OTHER_KEY", "params": {"temperature": 0}}


def auth(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": tokens[role]}


ROLES = ["viewer", "editor", "admin"]


SPARE_WATCH = ("/api/v1/watches/spare-watch", WATCH)
SPARE_MODEL = ("/api/v1/models/spare", MODEL)


@pytest.mark.parametrize(("method", "path", "body", "allowed", "before"), [
    ("GET", "/api/v1/models/prod", None, "viewer", None),
    ("PUT", "/api/v1/watches/new-watch", WATCH, "editor", None),
    ("DELETE", "/api/v1/watches/spare-watch", None, "editor", SPARE_WATCH),
    ("PUT", "/api/v1/models/other", MODEL, "admin", None),
    ("DELETE", "/api/v1/models/spare", None, "admin", SPARE_MODEL),
])
def test_each_role_boundary_both_ways(client: TestClient, tokens: dict[str, str], applied: Path, method: str,
                                      path: str, body: dict[str, Any] | None, allowed: str,
                                      before: tuple[str, dict[str, Any]] | None) -> None:
    for role in ROLES:
        if before is not None:  # what is deleted exists (again) before each attempt
            made = client.put(before[0], json=before[1], headers=auth(tokens, "admin"))
            assert made.status_code == 200, made.text
        answer = client.request(method, path, json=body, headers=auth(tokens, role))
        if ROLES.index(role) >= ROLES.index(allowed):
            assert answer.status_code == 200, (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            assert answer.headers["content-type"] == "application/problem+json" and allowed in answer.json()["detail"]


def test_a_watch_through_the_api_is_what_turnout_apply_stores_and_turnout_watches_lists(
        client: TestClient, tokens: dict[str, str], applied: Path, database_url: str) -> None:
    # the watch turnout.yaml declares, sent as JSON, is the stored one: unchanged
    declared = load_config(applied).watches["qa-watch"].model_dump(mode="json", exclude={"name"})
    same = client.put("/api/v1/watches/qa-watch", json=declared, headers=auth(tokens, "editor"))
    assert same.status_code == 200 and same.json()["action"] == "unchanged", same.text
    # a new watch is created, and a change to it is an update
    created = client.put("/api/v1/watches/api-watch", json=WATCH, headers=auth(tokens, "editor")).json()
    assert created == {"kind": "watch", "name": "api-watch", "action": "created", "detail": ""}
    changed = client.put("/api/v1/watches/api-watch", json={**WATCH, "paused": True}, headers=auth(tokens, "editor"))
    assert changed.json()["action"] == "updated"
    shown = client.get("/api/v1/watches/api-watch", headers=auth(tokens, "viewer")).json()
    assert (shown["schedule"], shown["paused"], shown["candidates"]) == ("0 7 * * 1", True, ["cand"])
    # and `turnout watches`, a process of its own, lists it
    listed = subprocess.run([sys.executable, "-m", "service.cli.main", "watches"], capture_output=True, text=True,
                            env={**os.environ, "TURNOUT_DATABASE_URL": database_url, "COLUMNS": "200"}, timeout=60)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "api-watch" in line)
    assert "0 7 * * 1" in row and "yes" in row
    # and `turnout apply` of the file, pruning, takes it away again: the file and the API edit the same objects
    with session_scope() as session:
        changes = catalog.apply_config(session, config=load_config(applied), prune=True)
    assert ("watch", "api-watch", "deleted") in [(c.kind, c.name, c.action) for c in changes]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({**WATCH, "production": "nope"}, "production", "model 'nope' is not declared"),
    ({**WATCH, "golden_set": "nope"}, "golden_set", "golden set 'nope' is not declared"),
    ({**WATCH, "candidates": ["prod"]}, None, "cannot also be a candidate"),
    ({**WATCH, "schedule": "61 * * * *"}, "schedule", "is not in 0-59"),
    ({**WATCH, "scorers": [{"name": "no-such-scorer"}]}, "scorers", "no-such-scorer"),
    ({**WATCH, "name": "another"}, "name", "the path 'api-watch'"),
])
def test_a_watch_refused_as_apply_refuses_it_is_not_stored(client: TestClient, tokens: dict[str, str],
                                                           applied: Path, body: dict[str, Any], field: str | None,
                                                           words: str) -> None:
    answer = client.put("/api/v1/watches/api-watch", json=body, headers=auth(tokens, "editor"))
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert answer.headers["content-type"] == "application/problem+json" and words in problem["detail"]
    if field is not None:
        assert problem["field"] == field
    with session_scope() as session:
        assert [row.name for row in catalog.list_watches(session)] == ["qa-watch"]


def test_models_need_an_admin_and_a_model_change_that_breaks_a_watch_is_refused(
        client: TestClient, tokens: dict[str, str], applied: Path) -> None:
    admin = auth(tokens, "admin")
    # a confidential golden set watched with the self-hosted candidate as production
    confidential = {"cases": [{"id": "a", "input": "x", "expected": "y"}], "privacy": "confidential"}
    assert client.put("/api/v1/golden-sets/secret", json=confidential, headers=admin).status_code == 200
    watch = {**WATCH, "golden_set": "secret", "production": "cand", "candidates": []}
    assert client.put("/api/v1/watches/secret-watch", json=watch, headers=admin).status_code == 200
    # an API-hosted production model for confidential cases is refused, as apply refuses it
    to_api = client.put("/api/v1/watches/secret-watch", json={**watch, "production": "prod"}, headers=admin)
    assert to_api.status_code == 422 and to_api.json()["type"] == "policy-violation", to_api.text
    # moving the watched model to an API is refused, naming the watch
    cand = client.get("/api/v1/models/cand", headers=admin).json()["spec"]
    moved = client.put("/api/v1/models/cand", json={**cand, "hosting": "api"}, headers=admin)
    assert moved.status_code == 422 and "secret-watch" in moved.json()["detail"], moved.text
    assert client.get("/api/v1/models/cand", headers=admin).json()["spec"]["hosting"] == "self_hosted"
    # a model in use is not deleted; a bad model body names the field
    in_use = client.delete("/api/v1/models/cand", headers=admin)
    assert in_use.status_code == 409 and "secret-watch" in in_use.json()["detail"]
    bad = client.put("/api/v1/models/x", json={**MODEL, "max_concurrency": 0}, headers=admin)
    assert bad.status_code == 422 and bad.json()["field"] == "max_concurrency"
    # a model shows its key only as the variable's name
    created = client.put("/api/v1/models/other", json=MODEL, headers=admin)
    assert created.json()["action"] == "created"
    assert client.get("/api/v1/models/other", headers=admin).json()["spec"]["api_key_env"] == "OTHER_KEY"
    assert client.get("/api/v1/models/nope", headers=admin).status_code == 404


def test_a_dry_run_stores_nothing_and_writes_are_audited(client: TestClient, tokens: dict[str, str],
                                                         applied: Path) -> None:
    dry = client.put("/api/v1/watches/api-watch", json=WATCH, params={"dry_run": "true"},
                     headers=auth(tokens, "editor"))
    assert dry.json()["action"] == "created"
    assert client.get("/api/v1/watches/api-watch", headers=auth(tokens, "viewer")).status_code == 404
    client.put("/api/v1/watches/api-watch", json=WATCH, headers=auth(tokens, "editor"))
    client.delete("/api/v1/watches/api-watch", headers=auth(tokens, "editor"))
    entries = client.get("/api/v1/audit", headers=auth(tokens, "admin")).json()["entries"]
    assert [(e["action"], e["target"], e["actor"]) for e in entries[:2]] == [
        ("watch.delete", "watch:api-watch", "editor-test"), ("watch.put", "watch:api-watch", "editor-test")]
    assert client.get("/api/v1/watches/api-watch", headers=auth(tokens, "viewer")).status_code == 404


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/models/m", {**MODEL, "residency": "r" * 65}, "residency"),
    ("/api/v1/watches/w", {**WATCH, "team": "t" * 201}, "team"),
    ("/api/v1/watches/" + "w" * 201, WATCH, "name"),
    ("/api/v1/golden-sets/" + "g" * 201, {"cases": [{"id": "a", "input": "q"}]}, "name"),
])
def test_a_text_longer_than_its_column_is_refused_by_name(client: TestClient, tokens: dict[str, str],
                                                          applied: Path, path: str, body: dict[str, Any],
                                                          field: str) -> None:
    answer = client.put(path, json=body, headers=auth(tokens, "admin"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
