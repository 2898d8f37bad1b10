"""Watches and models declared and changed in the browser as their turnout.yaml entry: checked and stored
as `PUT /api/v1/watches/{name}` and `PUT /api/v1/models/{name}` do, every problem shown at its line,
nothing stored while one remains; editors change watches, admins models; CSRF; the audit log."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from service.storage import access, catalog, listing
from service.storage.db import session_scope
from tests.service.web.conftest import csrf_of, sign_in


def _actions(action: str) -> list[access.AuditEntryPublic]:
    with session_scope() as session:
        return [entry for entry in access.audit_log(session, limit=200).entries if entry.action == action]


def _text(page: str) -> str:
    found = re.search(r'<textarea id="text" name="text"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, "the page has no declaration to edit"
    return html.unescape(found.group(1))


def _line_errors(page: str) -> list[tuple[int, str]]:
    return [(int(line), html.unescape(message)) for line, message in
            re.findall(r'<p class="error line-error" data-line="(\d+)">(.*?)</p>', page, re.S)]


def _watch_names() -> list[str]:
    with session_scope() as session:
        return [row.name for row in catalog.list_watches(session)]


def test_an_editor_changes_a_watchs_schedule_as_the_api_would(web: TestClient, secrets: dict[str, str],
                                                              applied: Path) -> None:
    sign_in(web, secrets["viewer"])
    page = web.get("/watches/qa-watch/edit")
    assert page.status_code == 200 and "Check and save" not in page.text
    declared = yaml.safe_load(_text(page.text))
    assert declared["name"] == "qa-watch" and declared["schedule"] == "0 6 * * *"
    assert declared["scorers"] == ["exact_match", {"name": "contains", "primary": True}]
    assert web.post("/watches/qa-watch/edit", data={"csrf": csrf_of(page.text), "text": _text(page.text)}
                    ).status_code == 403

    sign_in(web, secrets["editor"])
    page = web.get("/watches/qa-watch/edit")
    csrf, text = csrf_of(page.text), _text(page.text)
    assert 'action="/watches/qa-watch/edit"' in page.text and "Check and save" in page.text
    assert web.post("/watches/qa-watch/edit", data={"csrf": "0" * 64, "text": text}).status_code == 403
    # the entry as shown is what is stored: saved again, nothing changes and nothing is audited
    same = web.post("/watches/qa-watch/edit", data={"csrf": csrf, "text": text})
    assert same.status_code == 303 and same.headers["location"] == "/watches/qa-watch?saved=unchanged"
    assert _actions("watch.put") == []

    changed = web.post("/watches/qa-watch/edit", data={"csrf": csrf, "text": text.replace("0 6 * * *", "0 7 * * 1")})
    assert changed.status_code == 303 and changed.headers["location"] == "/watches/qa-watch?saved=updated"
    assert "Declaration saved: updated." in web.get(changed.headers["location"]).text
    with session_scope() as session:
        assert listing.watch(session, name="qa-watch").schedule == "0 7 * * 1"  # the column the scheduler syncs
    [entry] = _actions("watch.put")
    assert (entry.actor, entry.target, entry.detail) == ("editor-web", "watch:qa-watch", {"action": "updated"})


@pytest.mark.parametrize(("change", "line_words", "words"), [
    (("production: prod", "production: nowhere"), "production", "nowhere"),
    (("schedule: 0 6 * * *", "schedule: every morning"), "schedule", "schedule"),
    (("- exact_match", "- no-such-scorer"), "scorers", "no-such-scorer"),
    (("name: qa-watch", "name: another"), "name: another", "renamed by declaring a new one"),
    (("golden_set: qa", "golden_set: qa\nsurprise: 1"), "surprise", "surprise"),
    (("golden_set: qa", "golden_set: [qa"), "", "not valid YAML"),
])
def test_a_refused_watch_shows_the_problem_at_its_line_and_stores_nothing(
        web: TestClient, secrets: dict[str, str], applied: Path, change: tuple[str, str], line_words: str,
        words: str) -> None:
    sign_in(web, secrets["editor"])
    page = web.get("/watches/qa-watch/edit")
    text = _text(page.text)
    assert change[0] in text, text
    bad = text.replace(change[0], change[1])
    refused = web.post("/watches/qa-watch/edit", data={"csrf": csrf_of(page.text), "text": bad})
    assert refused.status_code == 422, refused.text
    [(line, message)] = _line_errors(refused.text)
    assert words in message, message
    if line_words:
        assert line_words in bad.splitlines()[line - 1], (line, bad)
    assert _text(refused.text) == bad  # what was sent is shown again, to fix
    with session_scope() as session:
        assert listing.watch(session, name="qa-watch").schedule == "0 6 * * *"
    assert _actions("watch.put") == []


def test_an_editor_declares_a_new_watch_and_not_over_an_existing_one(web: TestClient, secrets: dict[str, str],
                                                                     applied: Path) -> None:
    sign_in(web, secrets["editor"])
    page = web.get("/")
    assert 'href="/declare/watch"' in page.text
    form = web.get("/declare/watch")
    csrf = csrf_of(form.text)
    assert 'action="/declare/watch"' in form.text and yaml.safe_load(_text(form.text))["name"] == "my-watch"
    text = "name: weekly\ngolden_set: qa\nproduction: prod\nscorers: [exact_match]\nschedule: '0 7 * * 1'\n"
    made = web.post("/declare/watch", data={"csrf": csrf, "text": text})
    assert made.status_code == 303 and made.headers["location"] == "/watches/weekly?saved=created"
    assert _watch_names() == ["qa-watch", "weekly"]
    [entry] = _actions("watch.put")
    assert entry.target == "watch:weekly" and entry.detail == {"action": "created"}
    taken = web.post("/declare/watch", data={"csrf": csrf, "text": text.replace("weekly", "qa-watch")})
    assert taken.status_code == 422 and _line_errors(taken.text)[0][0] == 1
    assert "/watches/qa-watch/edit" in taken.text
    nameless = web.post("/declare/watch", data={"csrf": csrf, "text": "golden_set: qa\n"})
    assert nameless.status_code == 422 and "needs `name:`" in html.unescape(nameless.text)
    assert web.post("/declare/watch", data={"csrf": csrf, "text": "- a list\n"}).status_code == 422
    assert _watch_names() == ["qa-watch", "weekly"]


def test_models_are_an_admins_and_a_change_that_breaks_a_watch_is_refused(
        web: TestClient, secrets: dict[str, str], applied: Path) -> None:
    sign_in(web, secrets["editor"])
    page = web.get("/models")
    assert 'href="/models/cand/edit"' in page.text and 'href="/declare/model"' not in page.text
    form = web.get("/models/cand/edit")
    assert "Check and save" not in form.text
    denied = web.post("/models/cand/edit", data={"csrf": csrf_of(form.text), "text": _text(form.text)})
    assert denied.status_code == 403 and "needs admin" in denied.text
    assert web.post("/declare/model", data={"csrf": csrf_of(form.text), "text": "name: x\n"}).status_code == 403

    sign_in(web, secrets["admin"])
    form = web.get("/models/cand/edit")
    csrf, text = csrf_of(form.text), _text(form.text)
    assert 'action="/models/cand/edit"' in form.text and "Check and save" in form.text
    assert yaml.safe_load(text)["hosting"] == "self_hosted"
    assert web.post("/models/cand/edit", data={"csrf": csrf, "text": text}).headers["location"] == (
        "/models?saved=unchanged&name=cand")
    # qa-watch's golden set made confidential needs its models self-hosted: cand is, prod is not
    made = web.post("/declare/model", data={"csrf": csrf, "text": "name: local\nmodel: m\nbase_url: "
                                                                    "http://127.0.0.1:1/v1\nhosting: self_hosted\n"})
    assert made.status_code == 303 and made.headers["location"] == "/models?saved=created&name=local"
    assert "Model local: created." in web.get(made.headers["location"]).text
    bad = web.post("/models/cand/edit", data={"csrf": csrf, "text": text.replace("max_concurrency: 2",
                                                                                 "max_concurrency: 0")})
    assert bad.status_code == 422
    [(line, message)] = _line_errors(bad.text)
    assert "max_concurrency: 0" in text.replace("max_concurrency: 2", "max_concurrency: 0").splitlines()[line - 1]
    assert "max_concurrency" in message
    [entry] = _actions("model.put")
    assert (entry.actor, entry.target) == ("admin-web", "model:local")


def test_a_model_change_that_would_break_a_watch_names_it(web: TestClient, secrets: dict[str, str],
                                                          applied: Path) -> None:
    sign_in(web, secrets["admin"])
    form = web.get("/declare/watch")
    csrf = csrf_of(form.text)
    with session_scope() as session:  # a confidential golden set, watched with the self-hosted cand as production
        from evals.cases import Case, GoldenSet
        from service.storage import declare

        cases = (Case(id="a", input="x", expected="y"),)
        declare.put_golden_set(session, golden_set=GoldenSet(name="secret", cases=cases, privacy="confidential"),
                               source="inline")
    made = web.post("/declare/watch", data={"csrf": csrf, "text": "name: secret-watch\ngolden_set: secret\n"
                                                                    "production: cand\nscorers: [exact_match]\n"})
    assert made.status_code == 303, made.text
    text = _text(web.get("/models/cand/edit").text)
    moved = web.post("/models/cand/edit", data={"csrf": csrf, "text": text.replace("self_hosted", "api")})
    assert moved.status_code == 422 and "secret-watch" in html.unescape(moved.text)
    with session_scope() as session:
        assert listing.model(session, name="cand").spec["hosting"] == "self_hosted"


def test_a_models_options_are_not_shown_and_saving_keeps_them(web: TestClient, secrets: dict[str, str],
                                                              applied: Path) -> None:
    from service.api.routes.catalog_writes import declare_model

    with session_scope() as session:
        declare_model(session, name="sim", data={"kind": "sim", "model": "s", "options": {"accuracy": 0.8},
                                                 "latency_p95_ms": 250.0})
        session.commit()
    sign_in(web, secrets["admin"])
    form = web.get("/models/sim/edit")
    text = _text(form.text)
    assert "accuracy" not in text and "options" not in yaml.safe_load(text) and "(1 key(s))" in form.text
    assert yaml.safe_load(text)["latency_p95_ms"] == 250.0  # what listings leave out is still declared here
    saved = web.post("/models/sim/edit", data={"csrf": csrf_of(form.text), "text": text + "max_concurrency: 3\n"})
    assert saved.status_code == 303 and saved.headers["location"] == "/models?saved=updated&name=sim"
    from service.storage import declare

    with session_scope() as session:
        stored = declare.stored_models(session)["sim"]
        assert (stored.options, stored.max_concurrency, stored.latency_p95_ms) == ({"accuracy": 0.8}, 3, 250.0)


def test_a_watch_naming_a_judge_labels_file_is_refused_at_that_line_as_the_api_refuses_it(
        web: TestClient, secrets: dict[str, str], applied: Path) -> None:
    from evals.config import load_config
    from evals.drift.judge_labels import JudgeLabel
    from evals.recipe import StoredWatch

    watch = load_config(applied).watches["qa-watch"]
    labelled = watch.model_copy(update={"drift": watch.drift.model_copy(update={"judge_labels": "labels.jsonl"})})
    with session_scope() as session:  # as `turnout apply` stores a watch whose labels file it read
        catalog.apply_watch(session, watch=labelled, judge_labels=[JudgeLabel(case="paris", answer="Paris", score=1.0)])
    sign_in(web, secrets["editor"])
    form = web.get("/watches/qa-watch/edit")
    csrf, text = csrf_of(form.text), _text(form.text)
    assert yaml.safe_load(text)["drift"] == {"judge_labels": "labels.jsonl"}
    # the file is read where turnout.yaml is, not here: refused at its line, the stored labels kept
    refused = web.post("/watches/qa-watch/edit", data={"csrf": csrf, "text": text.replace("0 6 * * *", "0 8 * * *")})
    assert refused.status_code == 422
    [(line, message)] = _line_errors(refused.text)
    assert "judge_labels" in text.splitlines()[line - 1] and "relative to turnout.yaml" in message
    with session_scope() as session:
        spec = StoredWatch.model_validate(listing.live_watch(session, name="qa-watch").spec)
        assert spec.schedule == "0 6 * * *" and [label["case"] for label in spec.judge_label_set] == ["paris"]


def test_a_watch_and_then_its_unused_model_are_deleted_from_their_forms(web: TestClient, secrets: dict[str, str],
                                                                         applied: Path) -> None:
    sign_in(web, secrets["editor"])
    form = web.get("/watches/qa-watch/edit")
    csrf = csrf_of(form.text)
    assert 'action="/watches/qa-watch/delete"' in form.text
    sign_in(web, secrets["viewer"])
    assert web.post("/watches/qa-watch/delete", data={"csrf": csrf_of(web.get("/").text)}).status_code == 403
    sign_in(web, secrets["admin"])
    csrf = csrf_of(web.get("/models/cand/edit").text)
    in_use = web.post("/models/cand/delete", data={"csrf": csrf})
    assert in_use.status_code == 409 and "qa-watch" in html.unescape(in_use.text)
    gone = web.post("/watches/qa-watch/delete", data={"csrf": csrf})
    assert gone.status_code == 303 and gone.headers["location"] == "/?deleted=qa-watch"
    assert "Deleted watch qa-watch" in web.get("/?deleted=qa-watch").text and _watch_names() == []
    deleted = web.post("/models/cand/delete", data={"csrf": csrf})
    assert deleted.headers["location"] == "/models?saved=deleted&name=cand"
    assert 'href="/models/cand/edit"' not in web.get("/models").text
    assert [(e.target, e.actor) for e in _actions("watch.delete") + _actions("model.delete")] == [
        ("watch:qa-watch", "admin-web"), ("model:cand", "admin-web")]
