"""Cycles on real Celery worker processes over the real Redis, and `turnout up` on SQLite alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from sqlmodel import select

from jobs import dispatch
from service.storage.db import session_scope
from service.storage.tables import ComparisonRow, CompletionRow, RunMetricRow
from tests.conftest import REDIS_URL
from tests.jobs.workers import env_for, run_turnout_up, scheduled_cycles_finished, wait_for_cycle, worker_process
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
    env = env_for(f"sqlite:///{tmp_path / 'up.db'}", TURNOUT_REDIS_URL="redis://127.0.0.1:1/0",
                  TURNOUT_SCHEDULER_SYNC_S="1")
    # then it runs cycles on the schedule with the same task code
    up = run_turnout_up(watch_file, env, tmp_path / "up.log", until=lambda: scheduled_cycles_finished(env) >= 2,
                        timeout=60, what="two scheduled cycles")
    # and Ctrl-C stops it cleanly
    assert up.returncode == 0, up.output[-3000:]
    assert "turnout up: stopped" in up.output
