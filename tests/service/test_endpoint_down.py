"""A run whose endpoint refuses every connection ends with a message that says the endpoint is down."""

from __future__ import annotations

import json
from pathlib import Path

from service.cli.local_model import free_port
from tests.peers.openai_peer import OpenAIPeer
from tests.peers.watch import CASES, CONFIG
from tests.service.test_cli import turnout


def test_an_endpoint_nobody_listens_on_is_reported_as_down(database_url: str, tmp_path: Path) -> None:
    # given a watch whose production model answers and whose candidate's port has no server
    with OpenAIPeer(models=["prod-model"]) as prod:
        dead_url = f"http://127.0.0.1:{free_port()}/v1"
        (tmp_path / "qa.jsonl").write_text("".join(json.dumps(case) + "\n" for case in CASES))
        watch = tmp_path / "turnout.yaml"
        watch.write_text(CONFIG.format(prod_url=prod.base_url, cand_url=dead_url))
        assert turnout("apply", "-f", str(watch), database_url=database_url).returncode == 0
        # when a cycle runs
        ran = turnout("run", "qa-watch", "--json", database_url=database_url)
    # then the candidate's run says its endpoint is down, naming it; production's run is not affected
    assert ran.returncode == 0, ran.stderr
    production, candidate = json.loads(ran.stdout)["runs"]
    assert candidate["state"] == "failed"
    assert candidate["reason"].startswith(f"endpoint down: {dead_url} could not be reached for any of the 4 cases")
    assert "4 connection" in candidate["reason"] and candidate["failure_kind"] == "endpoint_down"
    assert production["state"] == "finished" and production["reason"] is None and production["failure_kind"] is None


def test_every_endpoint_down_fails_the_cycle_with_that_reason(database_url: str, tmp_path: Path) -> None:
    dead_url = f"http://127.0.0.1:{free_port()}/v1"
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(case) + "\n" for case in CASES))
    watch = tmp_path / "turnout.yaml"
    watch.write_text(CONFIG.format(prod_url=dead_url, cand_url=dead_url))
    assert turnout("apply", "-f", str(watch), database_url=database_url).returncode == 0
    ran = turnout("run", "qa-watch", "--json", database_url=database_url)
    assert ran.returncode == 1
    cycle = json.loads(ran.stdout)
    assert cycle["state"] == "failed" and cycle["failure_kind"] == "endpoint_down"
    assert f"endpoint down: {dead_url}" in cycle["reason"]
