"""Side by side, time series, drift and recommendations through the real app, after two real cycles."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from evals.metrics import percentile
from jobs import pipeline
from jobs.drift import snapshot_json
from service.storage.db import session_scope
from service.storage.metrics import run_metrics
from service.storage.results import run_ttfts
from service.storage.runs import get_cycle, get_run
from service.storage.tables import utcnow
from tests.peers.openai_peer import OpenAIPeer
from tests.peers.watch import candidate_answer


@pytest.fixture
def two(ran: int, peers: tuple[OpenAIPeer, OpenAIPeer]) -> tuple[int, int]:
    """Two finished cycles of `qa-watch`; in the second the candidate answers Paris' case differently."""
    _, cand = peers

    def changed(messages: list[dict[str, object]]) -> str:
        return "Lyon" if "France" in str(messages[-1]["content"]) else candidate_answer(messages)

    cand.answer = changed
    second = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(second)) == "finished"
    return ran, second


def get(client: TestClient, token: str, path: str, **params: object) -> dict[str, object]:
    answer = client.get(path, params=params, headers={"Authorization": token})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def check_side_by_side_shows_each_model_with_explanations_and_filters(client: TestClient, tokens: dict[str, str],
                                                                     two: tuple[int, int]) -> None:
    first, second = two
    viewer = tokens["viewer"]
    page = get(client, viewer, f"/api/v1/cycles/{second}/cases", limit=3)
    cases = page["cases"]
    assert isinstance(cases, list)
    assert [case["case_id"] for case in cases] == ["paris", "rome", "fr"] and page["next_cursor"] == 3
    paris = cases[0]
    assert paris["input"].startswith("Capital of France?") and paris["expected"] == "Paris"
    assert paris["tags"] == ["lang:en"]
    prod, cand = paris["models"]
    assert (prod["model"], prod["role"], prod["output"], prod["failed"]) == ("prod", "production", "Paris", False)
    assert (cand["model"], cand["output"], cand["failed"], cand["changed"]) == ("cand", "Lyon", True, True)
    assert prod["changed"] is False and prod["latency_ms"] is not None
    contains = next(s for s in cand["scores"] if s["scorer"] == "contains")
    assert contains["value"] == 0.0 and contains["explanation"]
    assert page["reference_run_ids"]["cand"] == cand["reference_run_id"] is not None
    assert [s["scorer"] for s in cases[2]["models"][0]["scores"]] == ["contains", "exact_match"]
    rest = get(client, viewer, f"/api/v1/cycles/{second}/cases", cursor=page["next_cursor"])
    assert [case["case_id"] for case in rest["cases"]] == ["broken"] and rest["next_cursor"] is None
    broken = rest["cases"][0]["models"][0]
    assert broken["error"] and broken["failed"] and broken["output"] is None
    # the filters
    failed = get(client, viewer, f"/api/v1/cycles/{second}/cases", failed_only=True)
    assert [case["case_id"] for case in failed["cases"]] == ["paris", "rome", "broken"]
    changed = get(client, viewer, f"/api/v1/cycles/{second}/cases", changed_only=True)
    assert [case["case_id"] for case in changed["cases"]] == ["paris"]
    french = get(client, viewer, f"/api/v1/cycles/{second}/cases", segment="lang:fr")
    assert [case["case_id"] for case in french["cases"]] == ["fr"]
    # the first cycle has no reference: nothing is "changed"
    assert get(client, viewer, f"/api/v1/cycles/{first}/cases", changed_only=True)["cases"] == []
    missing = client.get("/api/v1/cycles/999/cases", headers={"Authorization": viewer})
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def check_metrics_series_reads_the_stored_intervals(client: TestClient, tokens: dict[str, str],
                                                   two: tuple[int, int]) -> None:
    first, second = two
    viewer = tokens["viewer"]
    series = get(client, viewer, "/api/v1/watches/qa-watch/metrics")
    points = series["points"]
    assert isinstance(points, list)
    assert [(p["cycle_id"], p["model"]) for p in points] == [(first, "prod"), (first, "cand"), (second, "prod"),
                                                             (second, "cand")]
    with session_scope() as session:
        from service.storage.summary import cycle_summary

        summary = cycle_summary(session, cycle_id=second)
    cand_run = next(run for run in summary.runs if run.model == "cand")
    last = points[-1]
    assert (last["score"], last["ci_low"], last["ci_high"]) == (cand_run.score_mean, cand_run.score_ci_low,
                                                                cand_run.score_ci_high)
    with session_scope() as session:
        stored = run_metrics(session, run_id=cand_run.run_id, scorer_key="contains")
        run = get_run(session, run_id=cand_run.run_id)
        ttft = percentile(run_ttfts(session, run=run), 95)
    assert last["n"] == stored[""].n > 0 and last["latency_p95_ms"] == cand_run.latency_p95_ms
    assert last["input_tokens"] == cand_run.input_tokens and last["cost_usd"] == cand_run.cost_usd
    assert last["ttft_p95_ms"] == run.ttft_p95_ms == ttft
    assert points[0]["cost_usd"] > 0  # the production model is priced
    french = get(client, viewer, "/api/v1/watches/qa-watch/metrics", model="cand", segment="lang:fr")["points"]
    assert [(p["cycle_id"], p["n"], p["score"]) for p in french] == [
        (first, 1, cand_run.segments["lang:fr"].mean), (second, 1, cand_run.segments["lang:fr"].mean)]
    assert french[0]["score"] == 1.0
    latest = get(client, viewer, "/api/v1/watches/qa-watch/metrics", limit=2)
    assert [p["cycle_id"] for p in latest["points"]] == [second, second] and latest["truncated"] is True
    with session_scope() as session:
        started = get_cycle(session, cycle_id=second).started_at
    assert started is not None
    since = get(client, viewer, "/api/v1/watches/qa-watch/metrics", since=started.isoformat())["points"]
    assert {p["cycle_id"] for p in since} == {second}
    until = (utcnow() - timedelta(days=1)).isoformat()
    assert get(client, viewer, "/api/v1/watches/qa-watch/metrics", until=until)["points"] == []
    missing = client.get("/api/v1/watches/nope/metrics", headers={"Authorization": viewer})
    assert missing.status_code == 404


def check_cycles_list_filters_by_model_and_time(client: TestClient, tokens: dict[str, str],
                                               two: tuple[int, int]) -> None:
    first, second = two
    viewer = tokens["viewer"]
    both = get(client, viewer, "/api/v1/cycles", model="cand")["cycles"]
    assert [c["cycle_id"] for c in both] == [second, first]
    assert get(client, viewer, "/api/v1/cycles", model="nobody")["cycles"] == []
    with session_scope() as session:
        made = get_cycle(session, cycle_id=second).created_at
    later = get(client, viewer, "/api/v1/cycles", since=made.isoformat(), watch="qa-watch")["cycles"]
    assert [c["cycle_id"] for c in later] == [second]
    earlier = get(client, viewer, "/api/v1/cycles", until=made.isoformat())["cycles"]
    assert [c["cycle_id"] for c in earlier] == [first]
    bad = client.get("/api/v1/cycles", params={"since": "yesterday"}, headers={"Authorization": viewer})
    assert bad.status_code == 422 and bad.json()["field"] == "since"


def check_recommendations_and_drift_current_and_history(client: TestClient, tokens: dict[str, str],
                                                       two: tuple[int, int]) -> None:
    first, second = two
    viewer = tokens["viewer"]
    current = get(client, viewer, "/api/v1/watches/qa-watch/recommendation")
    assert current["cycle_id"] == second and current["watch"] == "qa-watch"
    assert get(client, viewer, "/api/v1/watches/qa-watch/recommendation", cycle=first)["cycle_id"] == first
    page = get(client, viewer, "/api/v1/watches/qa-watch/recommendations", limit=1)
    assert [r["cycle_id"] for r in page["recommendations"]] == [second] and page["next_cursor"] == second
    older = get(client, viewer, "/api/v1/watches/qa-watch/recommendations", cursor=page["next_cursor"])
    assert [r["cycle_id"] for r in older["recommendations"]] == [first] and older["next_cursor"] is None
    drift = get(client, viewer, "/api/v1/watches/qa-watch/drift")
    assert drift["cycle_id"] == second
    assert sorted(check["model"] for check in drift["checks"]) == ["cand", "prod"]
    assert drift["documents"]["cand"]["output_change_rate"] == next(
        check["output_change_rate"] for check in drift["checks"] if check["model"] == "cand") > 0
    history = get(client, viewer, "/api/v1/watches/qa-watch/drift/history", model="cand")
    assert [check["cycle_id"] for check in history["checks"]] == [second, first]
    paged = get(client, viewer, "/api/v1/watches/qa-watch/drift/history", limit=3)
    assert len(paged["checks"]) == 3 and paged["next_cursor"] is not None
    assert len(get(client, viewer, "/api/v1/watches/qa-watch/drift/history", cursor=paged["next_cursor"])[
        "checks"]) == 1
    assert client.get("/api/v1/watches/nope/recommendations", headers={"Authorization": viewer}).status_code == 404


def check_drift_snapshot_json_and_html(client: TestClient, tokens: dict[str, str], two: tuple[int, int]) -> None:
    _, second = two
    headers = {"Authorization": tokens["viewer"]}
    drift = client.get("/api/v1/watches/qa-watch/drift", params={"model": "cand"}, headers=headers).json()
    (check,) = drift["checks"]
    snapshot = client.get("/api/v1/watches/qa-watch/drift/snapshot", params={"model": "cand"}, headers=headers)
    report = client.get("/api/v1/watches/qa-watch/drift/report", params={"model": "cand", "cycle": second},
                        headers=headers)
    if not check["report_stored"]:
        assert snapshot.status_code == report.status_code == 404
        pytest.fail("no Evidently report was stored for the candidate's check")
    assert snapshot.status_code == 200 and snapshot.headers["content-type"] == "application/json"
    assert snapshot.json() == json.loads(snapshot_json(watch="qa-watch", cycle_id=second, model="cand"))
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "<html" in report.text.lower()
    unknown = client.get("/api/v1/watches/qa-watch/drift/report", params={"model": "nobody"}, headers=headers)
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"


def check_the_new_reads_need_a_token(client: TestClient, two: tuple[int, int]) -> None:
    _, second = two
    for path in (f"/api/v1/cycles/{second}/cases", "/api/v1/watches/qa-watch/metrics",
                 "/api/v1/watches/qa-watch/drift", "/api/v1/watches/qa-watch/drift/history",
                 "/api/v1/watches/qa-watch/recommendation", "/api/v1/watches/qa-watch/recommendations",
                 "/api/v1/watches/qa-watch/drift/snapshot?model=cand",
                 "/api/v1/watches/qa-watch/drift/report?model=cand"):
        answer = client.get(path)
        assert answer.status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401, path


def test_reads_of_two_cycles(client: TestClient, tokens: dict[str, str], two: tuple[int, int]) -> None:
    # Two whole cycles (drift reports and advice included) are the slow part: every read is checked on them.
    check_side_by_side_shows_each_model_with_explanations_and_filters(client, tokens, two)
    check_metrics_series_reads_the_stored_intervals(client, tokens, two)
    check_cycles_list_filters_by_model_and_time(client, tokens, two)
    check_recommendations_and_drift_current_and_history(client, tokens, two)
    check_drift_snapshot_json_and_html(client, tokens, two)
    check_the_new_reads_need_a_token(client, two)
