"""Compare, rescore and the scorer list over HTTP against `turnout api` as a real process: the numbers and
scores are the ones the CLI commands print."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from service.storage import access
from service.storage.db import session_scope
from tests.peers.openai_peer import OpenAIPeer
from tests.service.test_cli import turnout
from tests.service.test_cli_api import serving


def test_compare_rescore_and_scorers_over_http_are_what_the_cli_prints(
        database_url: str, watch_file: Path, peers: tuple[OpenAIPeer, OpenAIPeer]) -> None:
    assert turnout("apply", "-f", str(watch_file), database_url=database_url).returncode == 0
    ran = json.loads(turnout("run", "qa-watch", "--json", database_url=database_url).stdout)
    prod, cand = (run["run_id"] for run in ran["runs"])
    with session_scope() as session:
        editor = {"Authorization": "Bearer " + access.create_token(session, role="editor", name="ops").token}
    with serving(database_url=database_url) as (_, base):
        # the comparison over HTTP is `turnout compare A B --json`, number for number
        answer = httpx.get(f"{base}/api/v1/runs/{cand}/compare", params={"against": prod}, headers=editor)
        printed = turnout("compare", str(prod), str(cand), "--json", database_url=database_url)
        assert answer.status_code == 200, answer.text
        assert answer.json() == json.loads(printed.stdout)
        # a rescore over HTTP writes what `turnout results` then prints
        spec = 'exact_match:{"ignore_case": true}'
        rescored = httpx.post(f"{base}/api/v1/runs/{cand}/rescore", json={"scorers": [spec]}, headers=editor,
                              timeout=60)
        assert rescored.status_code == 200, rescored.text
        assert rescored.json()["written"] == 4
        results = json.loads(turnout("results", str(cand), "--json", database_url=database_url).stdout)
        paris = next(case for case in results["cases"] if case["case_id"] == "paris")
        assert paris["scores"]['exact_match:{"ignore_case":true}'] == 1.0
        # and the scorer list is `turnout scorers`
        listed = httpx.get(f"{base}/api/v1/scorers", headers=editor).json()["scorers"]
        names = [line.split()[0] for line in turnout("scorers", database_url=database_url).stdout.splitlines()]
        assert [item["name"] for item in listed] == names
