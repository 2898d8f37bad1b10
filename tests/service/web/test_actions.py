"""The dashboard's writes beyond pause / resume / trigger / upload, through the app on a real database:
a golden set's privacy class, cancelling a cycle, pinning a run as its model's drift reference, advising
a cycle again with the current policy, deleting a golden set. Each needs
an editor and the session's CSRF token, and is recorded in the audit log."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import select

from evals.config import load_config
from service.storage import access, advice, catalog
from service.storage.db import session_scope
from service.storage.drift_tables import DriftPinRow
from service.storage.tables import ApiTokenRow, utcnow
from tests.peers.watch import CASES
from tests.service.web.conftest import csrf_of, sign_in
from tests.service.web.xss import jsonl


def _actions(action: str) -> list[access.AuditEntryPublic]:
    with session_scope() as session:
        return [entry for entry in access.audit_log(session, limit=200).entries if entry.action == action]


def _versions(html: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r'<option value="([0-9a-f]{12})"', html)))  # newest first, once each


def test_an_editor_changes_the_privacy_class_as_a_new_version_of_the_same_cases(
    web: TestClient, secrets: dict[str, str], applied: Path
) -> None:
    sign_in(web, secrets["viewer"])
    page = web.get("/golden-sets/qa")
    assert "Privacy internal" in page.text and 'action="/golden-sets/qa/privacy"' not in page.text
    denied = web.post("/golden-sets/qa/privacy", data={"csrf": csrf_of(page.text), "privacy": "public"})
    assert denied.status_code == 403

    sign_in(web, secrets["editor"])
    page = web.get("/golden-sets/qa")
    csrf = csrf_of(page.text)
    assert '<option value="internal" selected>' in page.text
    assert web.post("/golden-sets/qa/privacy", data={"csrf": "0" * 64, "privacy": "public"}).status_code == 403
    changed = web.post("/golden-sets/qa/privacy", data={"csrf": csrf, "privacy": "public"})
    assert changed.status_code == 303 and changed.headers["location"] == "/golden-sets/qa?saved=updated"
    page = web.get("/golden-sets/qa")
    assert "Privacy public" in page.text and '<option value="public" selected>' in page.text
    head, base = _versions(page.text)[:2]  # the class is part of the version: same cases, new version
    diff = web.get("/golden-sets/qa/diff", params={"base": base, "head": head})
    assert "0 added, 0 removed, 0 changed" in diff.text
    [entry] = _actions("golden_set.privacy")
    assert entry.actor == "editor-web" and entry.target == "golden_set:qa"
    assert entry.detail["from"] == "internal" and entry.detail["to"] == "public"

    # Confidential would send the cases to `prod`, an API model: refused, naming the watch; nothing stored.
    refused = web.post("/golden-sets/qa/privacy", data={"csrf": csrf, "privacy": "confidential"})
    assert refused.status_code == 422
    message = re.search(r'<p class="error" id="privacy-error" role="alert">(.*?)</p>', refused.text, re.S)
    assert message is not None and "qa-watch" in message.group(1) and "prod" in message.group(1)
    unknown = web.post("/golden-sets/qa/privacy", data={"csrf": csrf, "privacy": "secret"})
    assert unknown.status_code == 422 and "not a privacy class" in unknown.text
    page = web.get("/golden-sets/qa")
    assert "Privacy public" in page.text and len(_versions(page.text)) == 2
    assert len(_actions("golden_set.privacy")) == 1
    same = web.post("/golden-sets/qa/privacy", data={"csrf": csrf, "privacy": "public"})
    assert same.headers["location"] == "/golden-sets/qa?saved=unchanged"


def test_an_editor_cancels_a_queued_cycle_once(web: TestClient, secrets: dict[str, str], applied: Path) -> None:
    from jobs import pipeline

    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="manual")
    sign_in(web, secrets["viewer"])
    page = web.get(f"/cycles/{cycle_id}")
    assert "Cancel this cycle" not in page.text
    assert web.post(f"/cycles/{cycle_id}/cancel", data={"csrf": csrf_of(page.text)}).status_code == 403
    sign_in(web, secrets["editor"])
    page = web.get(f"/cycles/{cycle_id}")
    assert f'action="/cycles/{cycle_id}/cancel"' in page.text
    done = web.post(f"/cycles/{cycle_id}/cancel", data={"csrf": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"] == f"/cycles/{cycle_id}"
    page = web.get(f"/cycles/{cycle_id}")
    assert 'state-cancelled">cancelled' in page.text and "Cancel this cycle" not in page.text
    again = web.post(f"/cycles/{cycle_id}/cancel", data={"csrf": csrf_of(page.text)})
    assert again.status_code == 409 and "already cancelled" in again.text
    [entry] = _actions("cycle.cancel")
    assert entry.target == f"cycle:{cycle_id}"


def test_an_editor_pins_a_run_as_its_models_drift_reference(
    web: TestClient, secrets: dict[str, str], ran: int
) -> None:
    cycle_id = ran
    sign_in(web, secrets["editor"])
    cycle = web.get(f"/cycles/{cycle_id}")
    production = min(int(n) for n in re.findall(r'href="/runs/(\d+)"', cycle.text))
    page = web.get(f"/runs/{production}")
    assert "Pin as drift reference of prod" in page.text
    assert '<option value="lang:fr"' in page.text  # the segment picker lists the cases' tags
    pinned = web.post(f"/runs/{production}/pin", data={"csrf": csrf_of(page.text)})
    assert pinned.status_code == 303 and pinned.headers["location"] == f"/runs/{production}?pinned=true"
    assert "is now the drift reference of prod in qa-watch" in web.get(pinned.headers["location"]).text
    with session_scope() as session:
        [pin] = session.exec(select(DriftPinRow)).all()
        assert pin.run_id == production
    [entry] = _actions("drift.pin")
    assert entry.target == f"run:{production}" and entry.detail == {"watch": "qa-watch"}


def test_an_editor_advises_a_cycle_again_with_the_current_policy(
    web: TestClient, secrets: dict[str, str], applied: Path, ran: int
) -> None:
    from jobs import pipeline

    cycle_id = ran
    queued = pipeline.start_cycle(watch="qa-watch", trigger="manual")
    applied.write_text(applied.read_text() + "    policy: {margin: 0.4}\n")  # the watch is the file's last entry
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(applied))
        assert advice.recommendation(session, watch_name="qa-watch").inputs["policy"]["margin"] == 0.05
    sign_in(web, secrets["editor"])
    page = web.get(f"/cycles/{cycle_id}")
    assert "Advise again with the current policy" in page.text
    again = web.post(f"/cycles/{cycle_id}/advise", data={"csrf": csrf_of(page.text)})
    assert again.status_code == 303 and again.headers["location"] == f"/cycles/{cycle_id}?advised=true"
    assert "Advised again with the watch's current policy" in web.get(again.headers["location"]).text
    with session_scope() as session:
        assert advice.recommendation(session, watch_name="qa-watch").inputs["policy"]["margin"] == 0.4
    [entry] = _actions("recommendation.recompute")
    assert entry.target == f"cycle:{cycle_id}"
    refused = web.post(f"/cycles/{queued}/advise", data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 409 and "no recommendation to make again" in refused.text


def test_a_write_in_a_session_of_its_own_is_not_locked_out_by_the_sign_in_s_last_use(
    web: TestClient, secrets: dict[str, str], ran: int
) -> None:
    cycle_id = ran
    sign_in(web, secrets["editor"])
    csrf = csrf_of(web.get(f"/cycles/{cycle_id}").text)
    # given a token last used long enough ago that this request brings its last use up to date
    with session_scope() as session:
        for row in session.exec(select(ApiTokenRow)).all():
            row.last_used_at = utcnow() - 2 * access.LAST_USE_RESOLUTION
            session.add(row)
    # when the request advises again, which writes in a session of its own after the route has read through
    # the request's (on SQLite a write pending there would hold the one write lock until the request ends)
    again = web.post(f"/cycles/{cycle_id}/advise", data={"csrf": csrf})
    # then it is done, not locked out by its own request
    assert again.status_code == 303, again.text
    assert [entry.target for entry in _actions("recommendation.recompute")] == [f"cycle:{cycle_id}"]


def test_an_editor_deletes_a_golden_set_no_watch_uses(web: TestClient, secrets: dict[str, str], applied: Path) -> None:
    sign_in(web, secrets["editor"])
    page = web.get("/golden-sets/qa")
    csrf = csrf_of(page.text)
    assert "Used by qa-watch" in page.text and 'action="/golden-sets/qa/delete"' not in page.text
    refused = web.post("/golden-sets/qa/delete", data={"csrf": csrf})
    assert refused.status_code == 409 and "used by watch(es) qa-watch" in refused.text
    made = web.post(
        "/golden-sets/upload", data={"csrf": csrf, "name": "spare", "format": "jsonl", "text": jsonl(CASES[:2])}
    )
    assert made.status_code == 303
    page = web.get("/golden-sets/spare")
    assert 'action="/golden-sets/spare/delete"' in page.text
    sign_in(web, secrets["viewer"])
    assert 'action="/golden-sets/spare/delete"' not in web.get("/golden-sets/spare").text
    assert web.post("/golden-sets/spare/delete", data={"csrf": csrf_of(page.text)}).status_code == 403
    sign_in(web, secrets["editor"])
    done = web.post("/golden-sets/spare/delete", data={"csrf": csrf})
    assert done.status_code == 303 and done.headers["location"] == "/golden-sets?deleted=spare"
    listed = web.get(done.headers["location"]).text
    assert "Deleted golden set spare" in listed and 'href="/golden-sets/spare"' not in listed
    assert web.get("/golden-sets/spare").status_code == 404
    [entry] = _actions("golden_set.delete")
    assert entry.target == "golden_set:spare"


def test_an_upload_maps_its_columns_as_fields_in_turnout_yaml_does(
    web: TestClient, secrets: dict[str, str], applied: Path
) -> None:
    sign_in(web, secrets["editor"])
    csrf = csrf_of(web.get("/golden-sets/upload").text)
    table = "key,question,answer,language\nq1,Capital of Peru?,Lima,en\nq2,Capitale du Chili ?,Santiago,fr\n"
    form = {"csrf": csrf, "name": "capitals", "format": "csv", "text": table}
    bad = web.post("/golden-sets/upload", data={**form, "fields": '{"input": "question",'})
    assert bad.status_code == 422 and "field 'fields': not JSON" in bad.text
    assert 'value="{&#34;input&#34;: &#34;question&#34;,"' in bad.text  # kept in the form, to fix
    unmapped = web.post("/golden-sets/upload", data=form)
    assert unmapped.status_code == 422 and "input" in unmapped.text
    fields = '{"id": "key", "input": "question", "expected": "answer", "tags": ["language"]}'
    stored = web.post("/golden-sets/upload", data={**form, "fields": fields})
    assert stored.status_code == 303 and stored.headers["location"] == "/golden-sets/capitals?saved=created"
    page = web.get("/golden-sets/capitals").text
    assert "Capital of Peru?" in page and "Santiago" in page and "language:fr" in page and ">q2<" in page
