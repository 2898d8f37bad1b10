"""Golden sets over HTTP: JSON cases or a file in any format, every problem in one 422 with nothing
stored, versions, the difference of two versions, and cases by tag a page at a time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from evals.config import load_config
from service.storage import catalog
from service.storage.db import session_scope
from service.storage.tables import GoldenSetRow, GoldenSetVersionRow
from tests.peers.watch import CASES

PROMPTFOO = """\
prompts:
  - "Answer briefly: {{question}}"
tests:
  - description: capital
    vars: {question: "Capital of France?"}
    assert:
      - {type: icontains, value: paris}
  - description: sum
    vars: {question: "Two plus two?"}
    assert:
      - {type: javascript, value: "output.length < 10"}
"""


def auth(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": tokens[role]}


def put_cases(client: TestClient, tokens: dict[str, str], cases: list[Any], *, name: str = "qa",
              role: str = "editor", **params: str):  # type: ignore[no-untyped-def]
    return client.put(f"/api/v1/golden-sets/{name}", json={"cases": cases}, params=params,
                      headers=auth(tokens, role))


def upload(client: TestClient, tokens: dict[str, str], filename: str, content: str, *, name: str = "qa",
           data: dict[str, str] | None = None, **params: str):  # type: ignore[no-untyped-def]
    return client.put(f"/api/v1/golden-sets/{name}/file", files={"file": (filename, content.encode())},
                      data=data or {}, params=params, headers=auth(tokens, "editor"))


def stored_sets() -> int:
    with session_scope() as session:
        return len(session.exec(select(GoldenSetRow)).all()) + len(session.exec(select(GoldenSetVersionRow)).all())


def test_json_cases_make_the_version_turnout_apply_makes(client: TestClient, tokens: dict[str, str],
                                                         tmp_path: Path) -> None:
    # given the cases sent as JSON
    created = put_cases(client, tokens, CASES)
    assert created.status_code == 200, created.text
    body = created.json()
    assert (body["action"], body["version"]["n_cases"], body["version"]["current"]) == ("created", 4, True)
    # then the same cases again are the same version
    again = put_cases(client, tokens, CASES).json()
    assert again["action"] == "unchanged" and again["version"]["content_hash"] == body["version"]["content_hash"]
    # and `turnout apply` of a file with these cases finds the golden set unchanged (one code path)
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(case) + "\n" for case in CASES))
    (tmp_path / "turnout.yaml").write_text("golden_sets:\n  - {name: qa, file: qa.jsonl}\n")
    with session_scope() as session:
        changes = catalog.apply_config(session, config=load_config(tmp_path / "turnout.yaml"))
        session.rollback()
    assert [(c.kind, c.action) for c in changes] == [("golden_set", "unchanged")]


def test_every_problem_of_json_cases_comes_back_and_nothing_is_stored(client: TestClient,
                                                                      tokens: dict[str, str]) -> None:
    before = stored_sets()
    bad = [CASES[0], {"id": "no-input"}, {"id": "t", "input": "x", "tags": {"lang": "en"}}, "not a case",
           {**CASES[1], "id": "paris"}]
    answer = put_cases(client, tokens, bad)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problems = answer.json()["problems"]
    assert [p["field"] for p in problems] == ["cases[1].input", "cases[2].tags", "cases[3]"]
    assert all(p["message"] and p["file"] is None for p in problems)
    assert stored_sets() == before
    # the duplicate id is reported once the cases themselves are good
    dup = put_cases(client, tokens, [CASES[0], {**CASES[1], "id": "paris"}]).json()
    assert dup["field"] == "cases[1].id" and "duplicate case id 'paris'" in dup["detail"]
    assert stored_sets() == before


def test_a_file_with_bad_lines_names_each_line_and_field_and_stores_nothing(client: TestClient,
                                                                            tokens: dict[str, str]) -> None:
    lines = [json.dumps(CASES[0]), "{not json", json.dumps(CASES[1]), json.dumps({"id": "x", "input": 3.5}),
             json.dumps({"id": "y", "input": "q", "surprise": 1})]
    answer = upload(client, tokens, "data/qa.jsonl", "\n".join(lines) + "\n")
    assert answer.status_code == 422, answer.text
    problems = answer.json()["problems"]
    assert [(p["file"], p["line"]) for p in problems] == [("qa.jsonl", 2), ("qa.jsonl", 4), ("qa.jsonl", 5)]
    assert problems[1]["field"] == "input" and problems[2]["field"] == "surprise"
    assert "turnout-upload" not in answer.text  # the server's temporary directory is never named
    assert stored_sets() == 0


@pytest.mark.parametrize(("filename", "fmt", "content", "n_cases"), [
    ("qa.csv", None, "id,input,expected,tags\nparis,Capital of France?,Paris,lang:en;task:qa\n"
                     "rome,Capital of Italy?,Rome,lang:en\n", 2),
    ("qa.yaml", None, "cases:\n  - {id: paris, input: \"Capital of France?\", expected: Paris}\n", 1),
    ("samples.jsonl", "openai-evals", json.dumps({"input": [{"role": "user", "content": "2+2?"}], "ideal": "4"})
     + "\n" + json.dumps({"input": "Capital of France?", "ideal": ["Paris", "paris"]}) + "\n", 2),
    ("promptfooconfig.yaml", "promptfoo", PROMPTFOO.replace("javascript", "contains"), 2),
])
def test_upload_in_each_format(client: TestClient, tokens: dict[str, str], filename: str, fmt: str | None,
                               content: str, n_cases: int) -> None:
    answer = upload(client, tokens, filename, content, data={"format": fmt} if fmt else None)
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"]["n_cases"] == n_cases
    listed = client.get("/api/v1/golden-sets/qa", headers=auth(tokens, "viewer")).json()
    assert listed["source"] == filename and len(listed["versions"]) == 1


def test_a_file_in_another_shape_is_read_through_fields(client: TestClient, tokens: dict[str, str]) -> None:
    rows = "question,answer,language\nCapital of France?,Paris,en\nCapitale de l'Italie ?,Rome,fr\n"
    fields = json.dumps({"input": "question", "expected": "answer", "tags": ["language"]})
    answer = upload(client, tokens, "export.csv", rows, data={"fields": fields})
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"]["n_cases"] == 2 and "generated" in answer.json()["notes"][0]
    page = client.get("/api/v1/golden-sets/qa/versions/current/cases", params={"tag": "language:fr"},
                      headers=auth(tokens, "viewer")).json()
    assert [c["data"]["expected"] for c in page["cases"]] == ["Rome"]
    bad = upload(client, tokens, "export.csv", rows, data={"fields": json.dumps({"expected": "answer"})})
    assert bad.status_code == 422 and bad.json()["field"] == "fields.input", bad.text


def test_unsupported_asserts_are_refused_per_case_unless_allowed(client: TestClient, tokens: dict[str, str]) -> None:
    refused = upload(client, tokens, "promptfooconfig.yaml", PROMPTFOO, data={"format": "promptfoo"})
    assert refused.status_code == 422, refused.text
    assert "javascript" in refused.json()["detail"] and "--allow-unsupported" in refused.json()["detail"]
    assert stored_sets() == 0
    allowed = upload(client, tokens, "promptfooconfig.yaml", PROMPTFOO, data={"format": "promptfoo"},
                     allow_unsupported="true")
    assert allowed.status_code == 200, allowed.text
    assert "unscorable" in allowed.json()["notes"][0]


def test_a_dry_run_answers_the_version_and_stores_nothing(client: TestClient, tokens: dict[str, str]) -> None:
    dry = put_cases(client, tokens, CASES, dry_run="true")
    assert dry.status_code == 200 and dry.json()["dry_run"] and dry.json()["version"]["n_cases"] == 4
    assert stored_sets() == 0


def test_versions_diff_and_cases_by_tag_a_page_at_a_time(client: TestClient, tokens: dict[str, str]) -> None:
    first = put_cases(client, tokens, CASES).json()["version"]["content_hash"]
    paris, rome, fr, _broken = CASES
    second = put_cases(client, tokens, [paris, {**rome, "expected": "Roma"}, fr,
                                        {"id": "madrid", "input": "Capital of Spain?", "tags": ["lang:en"]}])
    assert second.json()["action"] == "updated"
    viewer = auth(tokens, "viewer")
    versions = client.get("/api/v1/golden-sets/qa", headers=viewer).json()["versions"]
    assert [(v["n_cases"], v["current"]) for v in versions] == [(4, True), (4, False)]
    assert versions[1]["content_hash"] == first

    diff = client.get("/api/v1/golden-sets/qa/diff", params={"base": first[:12]}, headers=viewer)
    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert [c["id"] for c in body["added"]] == ["madrid"] and [c["id"] for c in body["removed"]] == ["broken"]
    assert [c["id"] for c in body["changed"]] == ["rome"] and body["unchanged"] == 2
    assert body["changed"][0]["base_hash"] != body["changed"][0]["head_hash"]

    page = client.get("/api/v1/golden-sets/qa/versions/current/cases", params={"tag": "lang:en", "limit": 2},
                      headers=viewer).json()
    assert [c["id"] for c in page["cases"]] == ["paris", "rome"] and page["cases"][1]["data"]["expected"] == "Roma"
    rest = client.get("/api/v1/golden-sets/qa/versions/current/cases",
                      params={"tag": "lang:en", "limit": 2, "cursor": page["next_cursor"]}, headers=viewer).json()
    assert [c["id"] for c in rest["cases"]] == ["madrid"] and rest["next_cursor"] is None
    old = client.get(f"/api/v1/golden-sets/qa/versions/{first}/cases", params={"tag": ["lang:en", "lang:fr"]},
                     headers=viewer).json()
    assert old["cases"] == [] and old["version"]["current"] is False
    french = client.get(f"/api/v1/golden-sets/qa/versions/{first[:8]}/cases", params={"tag": "lang:fr"},
                        headers=viewer).json()
    assert [c["id"] for c in french["cases"]] == ["fr"]
    missing = client.get("/api/v1/golden-sets/qa/versions/00000000/cases", headers=viewer)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_versions_and_the_diff_come_a_page_at_a_time(client: TestClient, tokens: dict[str, str]) -> None:
    viewer = auth(tokens, "viewer")
    paris, rome, fr, broken = CASES
    made = [put_cases(client, tokens, cases).json()["version"]["content_hash"] for cases in (
        [paris, rome, fr, broken],
        [paris, rome, fr],
        [{**paris, "expected": "Paris!"}, {**rome, "expected": "Roma"}, fr, {"id": "madrid", "input": "Capital?"},
         {"id": "oslo", "input": "Capital of Norway?"}])]
    # versions newest first, two at a time
    first = client.get("/api/v1/golden-sets/qa", params={"limit": 2}, headers=viewer).json()
    assert [v["content_hash"] for v in first["versions"]] == made[:0:-1] and first["next_cursor"] is not None
    assert [v["current"] for v in first["versions"]] == [True, False]
    rest = client.get("/api/v1/golden-sets/qa", params={"limit": 2, "cursor": first["next_cursor"]},
                      headers=viewer).json()
    assert [v["content_hash"] for v in rest["versions"]] == made[:1] and rest["next_cursor"] is None
    assert client.get("/api/v1/golden-sets/qa", params={"cursor": 0}, headers=viewer).status_code == 422
    # the list holds each set's current version and its count of versions, not every version
    [listed] = client.get("/api/v1/golden-sets", headers=viewer).json()["golden_sets"]
    assert listed["n_versions"] == 3 and listed["current"]["content_hash"] == made[2] and listed["current"]["current"]
    assert listed["current"]["n_cases"] == 5 and "versions" not in listed

    # the diff of the first and last versions: 2 added, 1 removed, 2 changed, two at a time
    whole = client.get("/api/v1/golden-sets/qa/diff", params={"base": made[0]}, headers=viewer).json()
    assert (whole["n_added"], whole["n_removed"], whole["n_changed"], whole["unchanged"]) == (2, 1, 2, 1)
    assert whole["next_cursor"] is None
    pages, cursor = [], 0
    while cursor is not None:
        page = client.get("/api/v1/golden-sets/qa/diff", params={"base": made[0], "limit": 2, "cursor": cursor},
                          headers=viewer)
        assert page.status_code == 200, page.text
        pages.append(page.json())
        cursor = pages[-1]["next_cursor"]
    # the head's cases in its order (changed, changed | added, added), then the removed one
    assert [[c["id"] for c in p["added"] + p["changed"] + p["removed"]] for p in pages] == [
        ["paris", "rome"], ["madrid", "oslo"], ["broken"]]
    for kind in ("added", "removed", "changed"):
        assert [c for p in pages for c in p[kind]] == whole[kind]
        assert all(p[f"n_{kind}"] == whole[f"n_{kind}"] for p in pages)
    assert client.get("/api/v1/golden-sets/qa/diff", params={"base": made[0], "cursor": 9},
                      headers=viewer).json()["next_cursor"] is None


def test_viewers_read_editors_write_and_a_golden_set_in_use_is_not_deleted(
        client: TestClient, tokens: dict[str, str], applied: Path) -> None:
    # `applied` declares golden set qa, used by qa-watch
    assert put_cases(client, tokens, CASES, role="viewer").status_code == 403
    assert upload(client, tokens, "x.jsonl", json.dumps(CASES[0]), name="other").status_code == 200
    for role, status in (("viewer", 200), ("editor", 200), ("admin", 200)):
        assert client.get("/api/v1/golden-sets/qa", headers=auth(tokens, role)).status_code == status
    assert client.delete("/api/v1/golden-sets/other", headers=auth(tokens, "viewer")).status_code == 403
    in_use = client.delete("/api/v1/golden-sets/qa", headers=auth(tokens, "editor"))
    assert in_use.status_code == 409 and "qa-watch" in in_use.json()["detail"]
    assert client.delete("/api/v1/golden-sets/other", headers=auth(tokens, "editor")).json()["action"] == "deleted"
    assert client.get("/api/v1/golden-sets/other", headers=auth(tokens, "viewer")).status_code == 404


def test_making_a_golden_set_confidential_under_an_api_model_is_refused(
        client: TestClient, tokens: dict[str, str], applied: Path) -> None:
    # qa-watch's production model `prod` is hosted by an API: confidential cases may not go there
    answer = client.put("/api/v1/golden-sets/qa", json={"cases": CASES, "privacy": "confidential"},
                        headers=auth(tokens, "editor"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"] == "policy-violation" and "qa-watch" in answer.json()["detail"]
    with session_scope() as session:
        assert [row.privacy for row in catalog.list_golden_sets(session)] == ["internal"]


def test_a_bundle_whose_file_has_several_bad_lines_names_each_relative_to_turnout_yaml(
        client: TestClient, tokens: dict[str, str]) -> None:
    config = "golden_sets:\n  - {name: qa, file: data/qa.jsonl}\n"
    lines = ["{bad", json.dumps(CASES[0]), json.dumps({"id": "x"})]
    answer = client.put("/api/v1/config", headers=auth(tokens, "editor"), files=[
        ("config", ("turnout.yaml", config.encode())), ("files", ("data/qa.jsonl", "\n".join(lines).encode()))])
    assert answer.status_code == 422, answer.text
    problems = answer.json()["problems"]
    assert [(p["file"], p["line"]) for p in problems] == [("data/qa.jsonl", 1), ("data/qa.jsonl", 3)]
    assert problems[1]["field"] == "input" and "turnout-bundle" not in answer.text
    assert stored_sets() == 0
