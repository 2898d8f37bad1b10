"""The dashboard's pages through the app, on a real database with cycles replayed against the local peers:
sign-in, roles and CSRF, every page, hostile text escaped, upload problems at their lines."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evals.config import load_config
from service.storage import catalog
from service.storage.db import session_scope
from tests.peers.watch import CASES
from tests.service.web.conftest import csrf_of, sign_in
from tests.service.web.xss import IMG, TEMPLATE, XSS_CASES, assert_escaped, jsonl


def _run_cycle() -> int:
    from jobs import pipeline

    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
    return cycle_id


@pytest.fixture
def hostile(applied: Path) -> Path:
    """The watch's golden set with the hostile cases added, applied."""
    (applied.parent / "qa.jsonl").write_text(jsonl([*CASES, *XSS_CASES]))
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(applied))
    return applied


def test_pages_redirect_to_login_without_a_session(web: TestClient, applied: Path) -> None:
    for path in ("/", "/watches/qa-watch", "/golden-sets", "/alerts", "/runs/1"):
        answer = web.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=/")


def test_sign_in_sets_a_strict_cookie_and_a_bad_token_is_refused(web: TestClient, secrets: dict[str, str]) -> None:
    refused = web.post("/login", data={"token": "tnt_nope"})
    assert refused.status_code == 401 and "unknown or was revoked" in refused.text
    answer = web.post("/login", data={"token": secrets["viewer"], "next": "//evil.example/"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie  # plain HTTP here
    page = web.get("/")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_writes_need_the_csrf_token_and_an_editor(web: TestClient, secrets: dict[str, str], applied: Path) -> None:
    sign_in(web, secrets["viewer"])
    page = web.get("/watches/qa-watch")
    assert "Pause" not in page.text  # a viewer sees no buttons
    denied = web.post("/watches/qa-watch/pause", data={"csrf": csrf_of(page.text)})
    assert denied.status_code == 403 and "needs editor" in denied.text
    sign_in(web, secrets["editor"])
    page = web.get("/watches/qa-watch")
    forged = web.post("/watches/qa-watch/pause", data={"csrf": "0" * 64})
    assert forged.status_code == 403
    assert "paused" not in web.get("/").text
    done = web.post("/watches/qa-watch/pause", data={"csrf": csrf_of(page.text)})
    assert done.status_code == 303
    assert "state-paused" in web.get("/").text


def test_empty_states_say_what_to_do(web: TestClient, secrets: dict[str, str], applied: Path) -> None:
    sign_in(web, secrets["viewer"])
    assert "no cycle yet: <code>turnout trigger qa-watch</code>" in web.get("/").text
    assert "turnout trigger qa-watch" in web.get("/watches/qa-watch").text
    assert "No alert yet" in web.get("/alerts").text


def test_every_page_shows_cycles_and_escapes_hostile_text(web: TestClient, secrets: dict[str, str],
                                                           hostile: Path) -> None:
    first = _run_cycle()
    sign_in(web, secrets["viewer"])
    cycle = web.get(f"/cycles/{first}")
    runs = [int(n) for n in re.findall(r'href="/runs/(\d+)"', cycle.text)]
    assert cycle.status_code == 200 and len(set(runs)) == 2
    production, candidate = sorted(set(runs))
    pages = {
        "overview": web.get("/"), "watch": web.get("/watches/qa-watch"),
        "segment": web.get("/watches/qa-watch", params={"segment": "lang:fr"}),
        "run": web.get(f"/runs/{candidate}"), "failed": web.get(f"/runs/{candidate}", params={"failed": "true"}),
        "case": web.get(f"/runs/{production}/cases/xss-script"), "golden set": web.get("/golden-sets/qa"),
        "drift": web.get("/watches/qa-watch/drift"), "cycle": cycle,
    }
    for name, page in pages.items():
        assert page.status_code == 200, (name, page.text[:500])
    for name in ("run", "case", "golden set"):
        assert_escaped(pages[name].text)
        assert json.dumps(IMG)[1:-1] not in pages[name].text  # the quote is escaped too
    assert TEMPLATE in pages["run"].text  # shown as written, never rendered as a template
    run = pages["run"].text
    assert "Milan" in run and "Rome" in run  # candidate and production side by side
    failed_ids = set(re.findall(r'/cases/([^"?]+)', pages["failed"].text))
    assert "rome" in failed_ids and "paris" not in failed_ids
    chart = re.search(r'<script type="application/json" id="chart-data-quality">(.*?)</script>', pages["watch"].text)
    assert chart is not None
    data = json.loads(chart.group(1))
    assert len(data["x"]) == 1 and [len(s["values"]) for s in data["series"]] == [1, 1]
    assert all(s["values"][0] is not None and len(s["band"]) == 2 for s in data["series"])
    assert "Recommendation history" in pages["watch"].text and f"#{first}" in pages["watch"].text


def test_upload_shows_each_problem_at_its_line_and_stores_nothing(web: TestClient, secrets: dict[str, str],
                                                                   applied: Path) -> None:
    sign_in(web, secrets["editor"])
    form = web.get("/golden-sets/upload", params={"name": "qa"})
    csrf = csrf_of(form.text)
    before = web.get("/golden-sets/qa").text.count("<code>")
    bad = jsonl(CASES[:2]) + '{"id": "three", "expected": "x"}\n' + jsonl(CASES[2:])
    answer = web.post("/golden-sets/upload", data={"csrf": csrf, "name": "qa", "format": "jsonl"},
                      files={"file": ("qa.jsonl", bad.encode(), "application/x-ndjson")})
    assert answer.status_code == 422
    located = re.findall(r'<p class="error line-error" data-line="(\d+)">(.*?)</p>', answer.text, re.S)
    assert [line for line, _ in located] == ["3"] and "input" in located[0][1]
    assert web.get("/golden-sets/qa").text.count("<code>") == before  # nothing stored
    fixed = web.post("/golden-sets/upload", data={"csrf": csrf, "name": "qa", "format": "jsonl",
                                                  "text": jsonl([*CASES, *XSS_CASES])})
    assert fixed.status_code == 303 and fixed.headers["location"] == "/golden-sets/qa?saved=updated"
    page = web.get("/golden-sets/qa?saved=updated")
    assert f"with {len(CASES) + len(XSS_CASES)} cases" in page.text
    assert_escaped(page.text)
    versions = re.findall(r'<option value="([0-9a-f]{12})"', page.text)
    head, base = versions[:2]  # newest first: the upload, then the version applied before it
    diff = web.get("/golden-sets/qa/diff", params={"base": base, "head": head})
    assert diff.status_code == 200 and f"{len(XSS_CASES)} added, 0 removed, 0 changed" in diff.text


def test_alerts_list_their_deliveries_and_an_editor_retries_a_failed_one(web: TestClient, secrets: dict[str, str],
                                                                          applied: Path) -> None:
    from datetime import timedelta

    from sqlmodel import select

    from service.storage import deliveries, outbox
    from service.storage.tables import WatchRow

    with session_scope() as session:
        watch = session.exec(select(WatchRow).where(WatchRow.name == "qa-watch")).one()
        alert_id = outbox.create_test_alert(session, watch=watch).id or 0
        claim = deliveries.claim(session, alert_id=alert_id, routes=["slack"], hold=timedelta(seconds=30))
        assert claim is not None
    with session_scope() as session:
        assert deliveries.record(session, delivery_id=claim.deliveries[0].delivery_id, status="failed",
                                 error="Slack answered 500 <b>boom</b>") == "failed"
    sign_in(web, secrets["viewer"])
    listed = web.get("/alerts")
    assert f'href="/alerts/{alert_id}"' in listed.text and "failed" in listed.text
    page = web.get(f"/alerts/{alert_id}")
    assert page.status_code == 200
    assert '<p class="slack-header">Test message from Turnout: qa-watch</p>' in page.text
    assert "Slack answered 500 &lt;b&gt;boom&lt;/b&gt;" in page.text
    assert "Retry</button>" not in page.text  # a viewer sees no button, and may not post the form
    assert web.post(f"/alerts/{alert_id}/retry", data={"csrf": csrf_of(page.text)}).status_code == 403
    sign_in(web, secrets["editor"])
    page = web.get(f"/alerts/{alert_id}")
    assert f'action="/alerts/{alert_id}/retry"' in page.text
    assert web.post(f"/alerts/{alert_id}/retry", data={"csrf": "0" * 64}).status_code == 403
    retried = web.post(f"/alerts/{alert_id}/retry", data={"csrf": csrf_of(page.text)})
    assert retried.status_code == 303 and retried.headers["location"] == f"/alerts/{alert_id}"
    after = web.get(f"/alerts/{alert_id}").text
    assert "state-pending" in after and "Retry</button>" not in after
    with session_scope() as session:
        assert outbox.due(session) == [alert_id]
    again = web.post(f"/alerts/{alert_id}/retry", data={"csrf": csrf_of(page.text)})
    assert again.status_code == 409 and "is pending" in again.text


def test_block_kit_marks_become_tags_and_everything_else_stays_text() -> None:
    from service.web.blockkit import blocks_html, mrkdwn

    assert str(mrkdwn("*Quality* for `lang:fr` &lt;script&gt; <https://example.org/w|the watch>")) == (
        '<strong>Quality</strong> for <code>lang:fr</code> &lt;script&gt; '
        '<a href="https://example.org/w" rel="noopener">the watch</a>')
    html = str(blocks_html([{"type": "header", "text": {"type": "plain_text", "text": "<img onerror=x>"}},
                            {"type": "section", "text": {"type": "mrkdwn", "text": "<javascript:alert(1)|x>"}}]))
    assert "<img" not in html and "href=\"javascript" not in html
