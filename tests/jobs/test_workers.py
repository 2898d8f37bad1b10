"""Cycles on real Celery worker processes over the real Redis, and `turnout up` on SQLite alone."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
import redis
from sqlmodel import select

from jobs import dispatch
from service.storage.db import session_scope
from service.storage.tables import ComparisonRow, CompletionRow, RunMetricRow
from tests.conftest import REDIS_URL
from tests.jobs.workers import BIN, ROOT, env_for, wait_for, wait_for_cycle, worker_process
from tests.peers.openai_peer import OpenAIPeer


@pytest.fixture(autouse=True)
def empty_broker() -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.mark.slow
def test_a_triggered_cycle_runs_on_worker_processes(applied: Path, database_url: str,
                                                    peers: tuple[OpenAIPeer, OpenAIPeer], tmp_path: Path) -> None:
    with worker_process(database_url, log=tmp_path / "worker.log"):
        cycle_id = dispatch.trigger(watch="qa-watch")
        cycle = wait_for_cycle(cycle_id, timeout=60)
    assert cycle["state"] == "finished", (tmp_path / "worker.log").read_text()[-3000:]
    assert cycle["step"] == "done" and cycle["trigger"] == "manual"
    assert [(r["model"], r["state"], r["done"], r["total"]) for r in cycle["runs"]] == [
        ("prod", "finished", 4, 4), ("cand", "finished", 4, 4)]
    with session_scope() as session:
        assert len(session.exec(select(CompletionRow)).all()) == 8
        assert session.exec(select(RunMetricRow)).all()      # the analysis step ran on the worker
        assert len(session.exec(select(ComparisonRow)).all()) == 2   # candidate vs production, per scorer
    assert len(peers[0].requests) == 4


@pytest.mark.slow
def test_turnout_up_runs_watches_on_their_schedule_with_sqlite_alone(
        tmp_path: Path, peers: tuple[OpenAIPeer, OpenAIPeer], watch_file: Path) -> None:
    # given a watch that fires every 3 seconds, on a fresh SQLite file, with no broker configured
    watch_file.write_text(watch_file.read_text().replace('schedule: "0 6 * * *"', 'schedule: "*/3 * * * * *"'))
    url = f"sqlite:///{tmp_path / 'up.db'}"
    env = env_for(url, TURNOUT_REDIS_URL="redis://127.0.0.1:1/0", TURNOUT_SCHEDULER_SYNC_S="1")
    turnout = str(BIN / "turnout")
    for args in (["db", "upgrade"], ["apply", "-f", str(watch_file)]):
        assert subprocess.run([turnout, *args], env=env, cwd=ROOT, capture_output=True).returncode == 0
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([turnout, "up"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            def finished_scheduled_cycles() -> int:
                status = subprocess.run([turnout, "status", "--json"], env=env, cwd=ROOT, capture_output=True,
                                        text=True)
                import json
                cycles = json.loads(status.stdout)["cycles"] if status.returncode == 0 else []
                done = [c for c in cycles if c["trigger"] == "schedule" and c["state"] == "finished"]
                return len(done) >= 2 and len(done)
            # then it runs cycles on the schedule with the same task code
            wait_for(finished_scheduled_cycles, timeout=60, what="two scheduled cycles", every=1)
        finally:
            # and Ctrl-C stops it cleanly
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=30)
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert "turnout up: stopped" in text
