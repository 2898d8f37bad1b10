"""`turnout trigger`, `status` and `cancel` as a user runs them, and a cancel that stops a replay."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import redis

from jobs import pipeline
from service.storage import runs
from service.storage.db import session_scope
from tests.conftest import REDIS_URL
from tests.peers.openai_peer import OpenAIPeer
from tests.service.test_cli import turnout


def test_trigger_status_and_cancel(database_url: str, watch_file: Path) -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    assert turnout("apply", "-f", str(watch_file), database_url=database_url).returncode == 0
    # given a cycle queued for the workers (none is running, so it waits in Redis)
    triggered = turnout("trigger", "qa-watch", database_url=database_url)
    assert triggered.returncode == 0, triggered.stderr
    cycle_id = int(triggered.stdout.split()[1])
    # when the status is asked
    document = json.loads(turnout("status", "--json", database_url=database_url).stdout)
    cycle = document["cycles"][0]
    assert {k: cycle[k] for k in ("cycle_id", "watch", "state", "trigger", "scheduled_for")} == {
        "cycle_id": cycle_id, "watch": "qa-watch", "state": "running", "trigger": "manual", "scheduled_for": None}
    assert [(r["model"], r["state"], r["done"], r["total"]) for r in cycle["runs"]] == [
        ("prod", "queued", 0, 4), ("cand", "queued", 0, 4)]
    assert {"run_id", "model", "state", "done", "total"} <= set(cycle["runs"][0])
    # then it can be cancelled, once
    cancelled = turnout("cancel", str(cycle_id), database_url=database_url)
    assert cancelled.returncode == 0, cancelled.stderr
    document = json.loads(turnout("status", "--json", database_url=database_url).stdout)
    assert document["cycles"][0]["state"] == "cancelled"
    assert document["cycles"][0]["failure_kind"] == "cancelled"
    assert {r["state"] for r in document["cycles"][0]["runs"]} == {"cancelled"}
    again = turnout("cancel", str(cycle_id), database_url=database_url)
    assert again.returncode == 1 and "already cancelled" in again.stderr
    table = turnout("status", database_url=database_url)
    assert table.returncode == 0 and "qa-watch" in table.stdout and "cancelled" in table.stdout
    redis.Redis.from_url(REDIS_URL).flushdb()


def test_cancelling_a_running_cycle_stops_its_replay_at_its_next_batch(
        applied: Path, peers: tuple[OpenAIPeer, OpenAIPeer]) -> None:
    from evals.config import load_config
    from service.storage import catalog

    # given 40 cases answered 0.1 s apart, two at a time by the candidate: about 2 s of replay
    cases = "".join(json.dumps({"id": f"c{i}", "input": f"Q{i}\nANSWER: A{i}", "expected": f"A{i}"}) + "\n"
                    for i in range(40))
    (applied.parent / "qa.jsonl").write_text(cases)
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(applied))
    prod, cand = peers
    prod.latency_s = cand.latency_s = 0.1
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")

    def cancel_soon() -> None:
        deadline = time.monotonic() + 30
        while len(cand.requests) < 2 and time.monotonic() < deadline:   # the replay is under way
            time.sleep(0.01)
        with session_scope() as session:
            runs.cancel_cycle(session, cycle_id=cycle_id)

    # when the cycle is cancelled while it replays
    threading.Thread(target=cancel_soon).start()
    state = asyncio.run(pipeline.run_cycle(cycle_id))
    # then its runs stop at their next stored batch (flushed every 0.5 s), keeping what was stored
    assert state == "cancelled"
    with session_scope() as session:
        cycle_runs = runs.cycle_runs(session, cycle_id=cycle_id)
    assert {run.state for run in cycle_runs} == {"cancelled"}
    assert 2 <= len(cand.requests) < 20
    assert cycle_runs[1].n_done <= len(cand.requests)
