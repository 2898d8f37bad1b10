"""The run page's "compare with…" and Rescore, through the app on a real database: the comparison is the
one `turnout compare` computes, shown overall and per segment with its interval; rescoring needs an editor
and the session's CSRF token, writes the scores and is audited."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path

from fastapi.testclient import TestClient

from jobs.compare import compare_runs
from service.storage import access, runs
from service.storage.db import session_scope
from service.storage.results import run_results
from tests.service.web.conftest import csrf_of, sign_in


def _ran() -> tuple[int, int, int]:
    """A finished cycle of qa-watch: (cycle, production's run, the candidate's run)."""
    from jobs import pipeline

    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
    prod, cand = _run_ids(cycle_id)
    return cycle_id, prod, cand


def _run_ids(cycle_id: int) -> list[int]:
    """The cycle's runs, production's first."""
    with session_scope() as session:
        cycle_runs = runs.cycle_runs(session, cycle_id=cycle_id)
        return [run.id for run in sorted(cycle_runs, key=lambda run: run.role != "production") if run.id]


def test_a_viewer_compares_a_run_with_another_run_of_the_watch(
    web: TestClient, secrets: dict[str, str], applied: Path
) -> None:
    _, prod, cand = _ran()
    second, _, _ = _ran()
    sign_in(web, secrets["viewer"])
    page = web.get(f"/runs/{cand}")
    # the picker offers the watch's other finished runs, production of the same cycle first chosen
    offered = re.findall(r'<option value="(\d+)" ?(selected)?>run \d+: (\w+)', page.text)
    assert {int(run_id) for run_id, _, _ in offered} == {prod, *_run_ids(second)}
    assert [int(run_id) for run_id, chosen, _ in offered if chosen] == [prod]
    assert f'action="/runs/{cand}/rescore"' not in page.text  # a viewer has no Rescore form

    shown = web.get(f"/runs/{cand}/compare", params={"against": prod})
    assert shown.status_code == 200, shown.text
    expected = compare_runs(run_a=prod, run_b=cand).comparison
    text = html.unescape(shown.text)
    assert f"Run {cand} against run {prod}" in text
    rows = {row[0]: row[1:] for row in re.findall(
        r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td>\s*<td>([^<]+)</td>\s*<td>\[([^,]+), ([^\]]+)\]', text)}
    for name, item in [("all", expected), *expected.segments.items()]:
        if item.ci_low is None:
            continue
        assert rows[name] == (str(item.n_pairs), f"{item.difference:,.3f}", f"{item.ci_low:,.3f}",
                              f"{item.ci_high:,.3f}"), name
    assert rows["all"][:2] == ("4", "-0.250") and "lang:en" in rows
    assert "none (fewer than 2 pairs)" in text  # lang:fr has a single case
    # on another scorer of the watch, picked beside the run
    assert '<option value="exact_match" >exact_match</option>' in page.text
    other = web.get(f"/runs/{cand}/compare", params={"against": prod, "scorer": "exact_match"})
    assert other.status_code == 200 and "on <code>exact_match</code>" in other.text


def test_comparing_with_a_run_that_cannot_be_paired_says_why(
    web: TestClient, secrets: dict[str, str], applied: Path
) -> None:
    from jobs import pipeline

    _, prod, _ = _ran()
    queued = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    empty = _run_ids(queued)[1]
    sign_in(web, secrets["viewer"])
    refused = web.get(f"/runs/{prod}/compare", params={"against": empty})
    assert refused.status_code == 422
    assert f"run {empty} has no scores for &#39;contains&#39;" in refused.text
    assert web.get(f"/runs/{prod}/compare", params={"against": 999}).status_code == 404


def test_an_editor_rescores_a_run_from_its_page(web: TestClient, secrets: dict[str, str], applied: Path) -> None:
    _, _, cand = _ran()
    sign_in(web, secrets["viewer"])
    viewer_page = web.get(f"/runs/{cand}")
    denied = web.post(f"/runs/{cand}/rescore", data={"csrf": csrf_of(viewer_page.text), "scorers": "contains"})
    assert denied.status_code == 403

    sign_in(web, secrets["editor"])
    page = web.get(f"/runs/{cand}")
    assert f'action="/runs/{cand}/rescore"' in page.text and ">contains</textarea>" in page.text
    forged = web.post(f"/runs/{cand}/rescore", data={"csrf": "0" * 64, "scorers": "contains"})
    assert forged.status_code == 403
    bad = web.post(f"/runs/{cand}/rescore", data={"csrf": csrf_of(page.text), "scorers": "nope"})
    assert bad.status_code == 422 and "unknown scorer &#39;nope&#39;" in bad.text
    with session_scope() as session:
        assert [e for e in access.audit_log(session, limit=50).entries if e.action == "run.rescore"] == []

    done = web.post(f"/runs/{cand}/rescore", data={"csrf": csrf_of(page.text),
                                                   "scorers": 'contains\nexact_match:{"ignore_case": true}\n'})
    assert done.status_code == 303 and done.headers["location"] == f"/runs/{cand}?rescored=8"
    assert "Rescored: 8 scores written." in web.get(done.headers["location"]).text
    with session_scope() as session:
        paris = next(case for case in run_results(session, run_id=cand).cases if case.case_id == "paris")
        [entry] = [e for e in access.audit_log(session, limit=50).entries if e.action == "run.rescore"]
    assert paris.scores['exact_match:{"ignore_case":true}'] == 1.0
    assert entry.actor == "editor-web" and entry.target == f"run:{cand}"
    assert entry.detail == {"scorers": ["contains", 'exact_match:{"ignore_case":true}'], "written": 8}
