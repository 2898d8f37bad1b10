"""Rescore, compare and the scorer catalog over HTTP: the CLI's numbers, roles both ways, audited
writes, and 4xx problems that say what is wrong."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from evals.config import load_config
from evals.scoring.registry import registered_scorers
from jobs.compare import compare_runs
from service.storage import access, catalog
from service.storage.db import session_scope
from service.storage.results import run_results
from service.storage.tables import ComparisonRow


def _runs(client: TestClient, headers: dict[str, str], cycle_id: int) -> tuple[int, int]:
    """(production's run, the candidate's run) of the cycle."""
    runs = client.get(f"/api/v1/cycles/{cycle_id}", headers=headers).json()["runs"]
    return runs[0]["run_id"], runs[1]["run_id"]


def _audited(action: str) -> list[access.AuditEntryPublic]:
    with session_scope() as session:
        return [entry for entry in access.audit_log(session, limit=200).entries if entry.action == action]


def test_compare_answers_what_turnout_compare_json_prints(client: TestClient, tokens: dict[str, str],
                                                          ran: int) -> None:
    viewer = {"Authorization": tokens["viewer"]}
    prod, cand = _runs(client, viewer, ran)
    # when a viewer asks for the candidate's run against production's
    answer = client.get(f"/api/v1/runs/{cand}/compare", params={"against": prod}, headers=viewer)
    # then it is the CLI's document, overall and per segment: the candidate loses Rome, of 4 pairs
    assert answer.status_code == 200, answer.text
    assert answer.json() == json.loads(json.dumps(compare_runs(run_a=prod, run_b=cand).to_dict()))
    body = answer.json()
    assert (body["run_a"], body["run_b"], body["scorer"]) == (prod, cand, "contains")
    assert body["n_pairs"] == 4 and body["difference"] == pytest.approx(-1 / 4)
    assert set(body["segments"]) == {"lang:en", "lang:fr"}
    assert body["segments"]["lang:en"]["difference"] == pytest.approx(-1 / 3)
    assert body["ci_low"] is not None and body["ci_low"] <= body["difference"] <= body["ci_high"]
    # and the options of the CLI are honoured
    other = client.get(f"/api/v1/runs/{cand}/compare", params={"against": prod, "scorer": "exact_match",
                                                               "margin": 0.2}, headers=viewer).json()
    assert other["scorer"] == "exact_match" and other["margin"] == 0.2


def test_compare_errors_are_problems_that_say_what_is_wrong(client: TestClient, tokens: dict[str, str],
                                                            applied: Path, ran: int) -> None:
    viewer = {"Authorization": tokens["viewer"]}
    prod, cand = _runs(client, viewer, ran)
    missing = client.get(f"/api/v1/runs/{cand}/compare", params={"against": 999}, headers=viewer)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert "999" in missing.json()["detail"]
    scorer = client.get(f"/api/v1/runs/{cand}/compare", params={"against": prod, "scorer": "nope"}, headers=viewer)
    assert scorer.status_code == 422 and "no scores for 'nope'" in scorer.json()["detail"]
    negative = client.get(f"/api/v1/runs/{cand}/compare", params={"against": prod, "margin": -0.1}, headers=viewer)
    assert negative.status_code == 422 and negative.json()["field"] == "margin"

    # given a second golden set with the same cases, and a cycle of a watch on it
    config = applied.read_text().replace("  - {name: qa, file: qa.jsonl, privacy: internal}\n",
                                         "  - {name: qa, file: qa.jsonl, privacy: internal}\n"
                                         "  - {name: qa2, file: qa.jsonl, privacy: internal}\n")
    config += config[config.index("  - name: qa-watch"):].replace("qa-watch", "qa2-watch").replace(
        "golden_set: qa\n", "golden_set: qa2\n")
    applied.write_text(config)
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(applied))
    from jobs import pipeline

    other_cycle = pipeline.start_cycle(watch="qa2-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(other_cycle)) == "finished"
    _, other = _runs(client, viewer, other_cycle)
    # then comparing across golden sets is refused, naming both
    across = client.get(f"/api/v1/runs/{other}/compare", params={"against": prod}, headers=viewer)
    assert across.status_code == 422, across.text
    assert "golden set 'qa'" in across.json()["detail"] and "golden set 'qa2'" in across.json()["detail"]


def test_an_unscored_run_or_nothing_paired_is_a_422_and_nothing_is_stored(
        client: TestClient, tokens: dict[str, str], applied: Path, ran: int) -> None:
    from jobs import pipeline

    viewer = {"Authorization": tokens["viewer"]}
    prod, _ = _runs(client, viewer, ran)
    # a run not replayed yet has no score: compared either way, it is refused rather than counted as failing
    queued = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    _, empty = _runs(client, viewer, queued)
    for b, a in ((prod, empty), (empty, prod)):
        answer = client.get(f"/api/v1/runs/{b}/compare", params={"against": a}, headers=viewer)
        assert answer.status_code == 422, answer.text
        assert f"run {empty} has no scores for 'contains'" in answer.json()["detail"]
    # given a new version of the golden set that shares no case with the first
    fresh = [{"id": "madrid", "input": "Capital of Spain?\nANSWER: Madrid", "expected": "Madrid", "tags": ["lang:en"]},
             {"id": "roma", "input": "Capital city of Italy?\nANSWER: Rome", "expected": "Rome", "tags": ["lang:en"]}]
    (applied.parent / "qa.jsonl").write_text("".join(json.dumps(case) + "\n" for case in fresh))
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(applied))
    second = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(second)) == "finished"
    _, cand = _runs(client, viewer, second)
    answer = client.get(f"/api/v1/runs/{cand}/compare", params={"against": prod}, headers=viewer)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == (f"runs {prod} and {cand} have no case in common to compare on 'contains' "
                                       "(left out: 6 not in other version)")
    with session_scope() as session:
        stored = session.exec(select(ComparisonRow).where(ComparisonRow.run_a_id == prod)).all()
        assert [row.run_b_id for row in stored if row.run_b_id in (cand, empty)] == []


def test_rescore_writes_the_scores_turnout_rescore_would_and_is_audited(client: TestClient, tokens: dict[str, str],
                                                                       ran: int) -> None:
    editor = {"Authorization": tokens["editor"]}
    _, cand = _runs(client, editor, ran)
    spec = 'exact_match:{"ignore_case": true}'
    answer = client.post(f"/api/v1/runs/{cand}/rescore", json={"scorers": [spec, "contains"]}, headers=editor)
    assert answer.status_code == 200, answer.text
    # 3 answers and 1 error per scorer: every stored completion scored again, none replayed
    assert answer.json() == {"run_id": cand, "written": 8,
                             "scorers": ['exact_match:{"ignore_case":true}', "contains"]}
    with session_scope() as session:
        cases = {case.case_id: case for case in run_results(session, run_id=cand).cases}
    assert cases["paris"].scores['exact_match:{"ignore_case":true}'] == 1.0
    assert cases["rome"].scores['exact_match:{"ignore_case":true}'] == 0.0
    [entry] = _audited("run.rescore")
    assert entry.actor == "editor-test" and entry.target == f"run:{cand}"
    assert entry.detail == {"scorers": ['exact_match:{"ignore_case":true}', "contains"], "written": 8}


def test_rescore_errors_store_nothing_and_say_what_to_fix(client: TestClient, tokens: dict[str, str],
                                                          ran: int) -> None:
    editor = {"Authorization": tokens["editor"]}
    _, cand = _runs(client, editor, ran)
    unknown = client.post(f"/api/v1/runs/{cand}/rescore", json={"scorers": ["nope"]}, headers=editor)
    assert unknown.status_code == 422 and "unknown scorer 'nope'" in unknown.json()["detail"]
    bad_json = client.post(f"/api/v1/runs/{cand}/rescore", json={"scorers": ["contains:{oops"]}, headers=editor)
    assert bad_json.status_code == 422 and "not valid JSON" in bad_json.json()["detail"]
    empty = client.post(f"/api/v1/runs/{cand}/rescore", json={"scorers": []}, headers=editor)
    assert empty.status_code == 422 and empty.json()["field"] == "scorers"
    missing = client.post("/api/v1/runs/999/rescore", json={"scorers": ["contains"]}, headers=editor)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert _audited("run.rescore") == []


def test_roles_both_ways(client: TestClient, tokens: dict[str, str], ran: int) -> None:
    viewer, editor = ({"Authorization": tokens[role]} for role in ("viewer", "editor"))
    prod, cand = _runs(client, viewer, ran)
    denied = client.post(f"/api/v1/runs/{cand}/rescore", json={"scorers": ["contains"]}, headers=viewer)
    assert denied.status_code == 403 and "needs editor" in denied.json()["detail"]
    assert client.post(f"/api/v1/runs/{cand}/rescore", json={"scorers": ["contains"]},
                       headers=editor).status_code == 200
    for path, params in ((f"/api/v1/runs/{cand}/compare", {"against": prod}), ("/api/v1/scorers", {})):
        assert client.get(path, params=params).status_code == 401
        assert client.get(path, params=params, headers=viewer).status_code == 200


def test_scorers_lists_what_turnout_scorers_prints(client: TestClient, tokens: dict[str, str]) -> None:
    answer = client.get("/api/v1/scorers", headers={"Authorization": tokens["viewer"]})
    assert answer.status_code == 200
    listed = {item["name"]: item for item in answer.json()["scorers"]}
    assert set(listed) == set(registered_scorers())
    assert listed["contains"]["version"] == registered_scorers()["contains"].version
    assert not listed["contains"]["calls_models"]
    assert any(item["calls_models"] for item in listed.values())  # the judges
