"""Reads through the real app: the same documents the CLI prints, paginated, and no secrets."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.storage.db import session_scope
from service.storage.results import run_results
from service.storage.summary import cycle_summary


def test_cycle_detail_is_what_turnout_run_prints(client: TestClient, tokens: dict[str, str], ran: int) -> None:
    headers = {"Authorization": tokens["viewer"]}
    answer = client.get(f"/api/v1/cycles/{ran}", headers=headers)
    assert answer.status_code == 200, answer.text
    with session_scope() as session:
        assert answer.json() == cycle_summary(session, cycle_id=ran).model_dump(mode="json")
    assert [run["model"] for run in answer.json()["runs"]] == ["prod", "cand"]


def test_cycles_list_pages_with_a_cursor_and_filters(client: TestClient, tokens: dict[str, str], ran: int) -> None:
    from jobs import pipeline

    second = pipeline.start_cycle(watch="qa-watch", trigger="cli")  # queued, never run
    headers = {"Authorization": tokens["viewer"]}
    first_page = client.get("/api/v1/cycles", params={"limit": 1}, headers=headers).json()
    assert [c["cycle_id"] for c in first_page["cycles"]] == [second]
    assert first_page["next_cursor"] == second
    next_page = client.get("/api/v1/cycles", params={"limit": 1, "cursor": first_page["next_cursor"]},
                           headers=headers).json()
    assert [c["cycle_id"] for c in next_page["cycles"]] == [ran] and next_page["next_cursor"] is None
    finished = client.get("/api/v1/cycles", params={"state": "finished"}, headers=headers).json()
    assert [c["cycle_id"] for c in finished["cycles"]] == [ran]
    assert client.get("/api/v1/cycles", params={"watch": "nope"}, headers=headers).json()["cycles"] == []
    bad = client.get("/api/v1/cycles", params={"state": "sleeping"}, headers=headers)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["field"] == "state"


def test_run_detail_pages_the_cases_in_golden_set_order(client: TestClient, tokens: dict[str, str],
                                                        ran: int) -> None:
    headers = {"Authorization": tokens["viewer"]}
    run_id = client.get(f"/api/v1/cycles/{ran}", headers=headers).json()["runs"][1]["run_id"]
    pages, cursor = [], 0
    while cursor is not None:
        page = client.get(f"/api/v1/runs/{run_id}", params={"limit": 3, "cursor": cursor}, headers=headers).json()
        pages.append(page["cases"])
        cursor = page["next_cursor"]
    assert [len(cases) for cases in pages] == [3, 1]
    with session_scope() as session:
        whole = run_results(session, run_id=run_id).model_dump(mode="json")
    assert [case for cases in pages for case in cases] == whole["cases"]
    rome = next(case for case in whole["cases"] if case["case_id"] == "rome")
    assert rome["output"] == "Milan" and rome["scores"]["contains"] == 0.0


def test_missing_objects_are_404_problems(client: TestClient, tokens: dict[str, str], applied: object) -> None:
    headers = {"Authorization": tokens["viewer"]}
    for path in ("/api/v1/cycles/999", "/api/v1/runs/999", "/api/v1/watches/nope"):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "not-found" and answer.json()["detail"]


def test_catalog_lists_show_versions_and_no_secrets(client: TestClient, tokens: dict[str, str],
                                                    applied: object) -> None:
    headers = {"Authorization": tokens["viewer"]}
    watches = client.get("/api/v1/watches", headers=headers).json()["watches"]
    assert [(w["name"], w["production"], w["candidates"], w["paused"]) for w in watches] == [
        ("qa-watch", "prod", ["cand"], False)]
    assert client.get("/api/v1/watches/qa-watch", headers=headers).json() == watches[0]
    (golden_set,) = client.get("/api/v1/golden-sets", headers=headers).json()["golden_sets"]
    version = golden_set["current"]
    assert golden_set["name"] == "qa" and version["n_cases"] == 4 and version["current"]
    assert golden_set["n_versions"] == 1 and "versions" not in golden_set  # paged by GET /golden-sets/{name}
    assert len(version["content_hash"]) == 64
    models = client.get("/api/v1/models", headers=headers).json()["models"]
    assert [m["name"] for m in models] == ["cand", "prod"]
    assert models[1]["spec"]["model"] == "prod-model" and "options" not in models[1]["spec"]
