"""Faults that must be survived (issue 5), with real worker and scheduler processes.

Each test gets its own throwaway Redis (killed and restarted at will), so nothing here touches the
machine's shared Redis or PostgreSQL servers. Leases, reconciling and leadership are made short
through the environment so that recovery happens in seconds, not minutes.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import col, func, select

from service.storage.db import session_scope
from service.storage.tables import CaseRow, CompletionRow, RunRow, ScoreRow
from tests.jobs.faults import (  # noqa: F401
    FAST,
    N_CASES,
    TimedPeer,
    apply_watch,
    assert_every_case_stored_once,
    assert_no_request_after_stored,
    broker,
    created_cycles,
    cycle_done,
    gaps,
    leader_pid,
    scheduled_slots,
    stored,
    tail,
    timed_peers,
)
from tests.jobs.workers import scheduler_process, trigger_cycle, wait_for, worker_process
from tests.peers.redis_server import RedisServer
from tests.peers.tcp_proxy import TcpProxy


@pytest.mark.slow
def test_a_worker_killed_mid_replay_loses_and_repeats_nothing(
        apply_watch: Callable[..., None], database_url: str, timed_peers: dict[str, TimedPeer],
        broker: RedisServer, tmp_path: Path) -> None:
    # given a cycle replaying on a worker, with a scheduler (the reconciler) running beside it
    apply_watch()
    env = {**FAST, "TURNOUT_REDIS_URL": broker.url}
    logs = tmp_path / "worker.log"
    with scheduler_process(database_url, log=tmp_path / "scheduler.log", **env):
        with worker_process(database_url, log=logs, **env) as first:
            cycle_id = trigger_cycle(database_url, "qa-watch", **env)
            wait_for(lambda: max(stored(cycle_id).values()) >= 6, timeout=40,
                     what=f"the first answers to be stored; worker log:\n{tail(logs)}")
            # when the worker dies with SIGKILL in the middle of the replay
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        killed_at, at_kill = datetime.now(UTC), stored(cycle_id)
        assert min(at_kill.values()) < N_CASES, at_kill  # the kill did cut a run short
        # and another worker starts
        with worker_process(database_url, log=logs, **env):
            cycle = cycle_done(cycle_id)
    # then the reconciler handed the silent runs to it, and the cycle completed
    assert_every_case_stored_once(cycle, N_CASES)
    assert any(arrived > killed_at for peer in timed_peers.values() for arrived, _ in peer.arrivals)
    assert "re-enqueueing run" in (tmp_path / "scheduler.log").read_text()
    # and no case was asked for again once its answer was stored
    assert_no_request_after_stored(cycle_id, timed_peers)


@pytest.mark.slow
def test_a_redis_restart_without_persistence_delays_a_cycle_but_loses_nothing(
        apply_watch: Callable[..., None], database_url: str, timed_peers: dict[str, TimedPeer],
        broker: RedisServer, tmp_path: Path) -> None:
    # given one worker slot, so the candidate's replay message waits in Redis while production replays
    apply_watch()
    env = {**FAST, "TURNOUT_REDIS_URL": broker.url}
    logs = tmp_path / "worker.log"
    with scheduler_process(database_url, log=tmp_path / "scheduler.log", **env), \
            worker_process(database_url, log=logs, concurrency=1, **env):
        cycle_id = trigger_cycle(database_url, "qa-watch", **env)
        wait_for(lambda: max(stored(cycle_id).values()) >= 6, timeout=40,
                 what=f"the first answers to be stored; worker log:\n{tail(logs)}")
        # when Redis dies and comes back empty in the middle of the cycle
        broker.kill()
        at_restart = stored(cycle_id)
        time.sleep(1)
        broker.start()
        # then the worker and the scheduler reconnect, the lost messages are sent again, and the cycle ends
        cycle = cycle_done(cycle_id)
    # one run was cut short; the other had not started: its message was in Redis, and was lost
    assert sorted(at_restart.values())[0] == 0 and sorted(at_restart.values())[1] < N_CASES, at_restart
    assert_every_case_stored_once(cycle, N_CASES)
    assert_no_request_after_stored(cycle_id, timed_peers)
    assert "re-enqueueing run" in (tmp_path / "scheduler.log").read_text()


@pytest.mark.slow
def test_two_schedulers_make_one_cycle_per_slot_and_a_standby_takes_over(
        apply_watch: Callable[..., None], database_url: str, broker: RedisServer, tmp_path: Path) -> None:
    # given a watch firing every 2 seconds and two scheduler replicas (no worker: only creation matters)
    apply_watch(n_cases=2, schedule="*/2 * * * * *")
    env = {**FAST, "TURNOUT_REDIS_URL": broker.url, "TURNOUT_RECONCILE_AFTER_S": "600"}
    logs = {name: tmp_path / f"scheduler-{name}.log" for name in ("a", "b")}
    with scheduler_process(database_url, log=logs["a"], **env) as a, \
            scheduler_process(database_url, log=logs["b"], **env) as b:
        names = {a.pid: "a", b.pid: "b"}
        processes = {"a": a, "b": b}
        # when they run side by side for several firings
        wait_for(lambda: len(scheduled_slots()) >= 5, timeout=40, what="five scheduled cycles")
        leader = names[wait_for(lambda: leader_pid(broker), timeout=5, what="a leader")]
        standby = "b" if leader == "a" else "a"
        before = scheduled_slots()
        # then each slot got one cycle, all of them made by the leader (which logs each after its commit)
        assert set(before.values()) == {1}, before
        assert gaps(list(before)) == [], list(before)
        wait_for(lambda: len(created_cycles(logs[leader])) >= len(before), timeout=5, what="the leader's log")
        assert {slot.isoformat() for slot in before} <= set(created_cycles(logs[leader]))
        assert created_cycles(logs[standby]) == [] and "now the leader" not in logs[standby].read_text()
        # when the leader dies with SIGKILL
        os.killpg(processes[leader].pid, signal.SIGKILL)
        killed_at = datetime.now(UTC)
        # then the standby takes over within a minute and goes on making one cycle per slot
        wait_for(lambda: created_cycles(logs[standby]), timeout=60, what=f"the standby to take over:\n"
                                                                          f"{tail(logs[standby])}")
        took_over_s = (datetime.now(UTC) - killed_at).total_seconds()
        wait_for(lambda: len(created_cycles(logs[standby])) >= 4, timeout=30, what="four cycles by the new leader")
        assert leader_pid(broker) == processes[standby].pid
    after = scheduled_slots()
    assert set(after.values()) == {1}, after
    new = [slot for slot in after if slot > killed_at]
    assert len(new) >= 3 and gaps(new) == [], new
    assert took_over_s < 60
    for log in logs.values():
        assert "Traceback" not in log.read_text(), tail(log)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_unavailable_for_seconds_while_tasks_write_is_retried_and_nothing_is_half_written(
        apply_watch: Callable[..., None], database_url: str, timed_peers: dict[str, TimedPeer],
        broker: RedisServer, tmp_path: Path) -> None:
    # given a worker that reaches PostgreSQL through a proxy that can be cut (and no reconciler: the
    # tasks' own retries must carry the cycle through)
    apply_watch()
    url = sa.engine.make_url(database_url)
    logs = tmp_path / "worker.log"
    with TcpProxy(url.port or 5432) as proxy:
        through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        env = {**FAST, "TURNOUT_REDIS_URL": broker.url, "TURNOUT_DB_CONNECT_TIMEOUT_S": "2"}
        with worker_process(through_proxy, log=logs, **env):
            cycle_id = trigger_cycle(database_url, "qa-watch", **env)
            wait_for(lambda: stored(cycle_id).get("production", 0) >= 6, timeout=40,
                     what=f"the first answers to be stored; worker log:\n{tail(logs)}")
            # when the database goes away for 3 seconds in the middle of the replay
            proxy.cut()
            at_cut = stored(cycle_id)
            time.sleep(3)
            proxy.restore()
            cycle = cycle_done(cycle_id)
    assert min(at_cut.values()) < N_CASES, at_cut
    # then the tasks retried (the worker says so) and the cycle completed with every case once
    assert re.search(r"Retry in \d+", logs.read_text()), tail(logs)
    assert_every_case_stored_once(cycle, N_CASES)
    assert_no_request_after_stored(cycle_id, timed_peers)
    # and every row is whole: full completions, counters that match them, every score present
    with session_scope() as session:
        rows = session.exec(select(CompletionRow, CaseRow.case_key)
                            .join(RunRow, col(RunRow.id) == CompletionRow.run_id)
                            .join(CaseRow, col(CaseRow.id) == CompletionRow.golden_case_id)
                            .where(RunRow.cycle_id == cycle_id)).all()
        completions = [completion for completion, _ in rows]
        runs = session.exec(select(RunRow).where(RunRow.cycle_id == cycle_id)).all()
        n_scores = session.exec(select(func.count()).select_from(ScoreRow).where(
            col(ScoreRow.completion_id).in_([c.id for c in completions]))).one()
    assert all(c.output == "a" + key[1:] and c.error is None and c.latency_ms and c.input_tokens
               and c.output_tokens and c.finish_reason == "stop" for c, key in rows)
    assert [(run.n_done, run.n_errors) for run in runs] == [(N_CASES, 0)] * 2
    assert n_scores == 2 * len(completions)  # two scorers, each completion scored once by each
