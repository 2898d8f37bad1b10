"""Faults that must be survived (issue 5), with real worker and scheduler processes.

Each test gets its own throwaway Redis (killed and restarted at will), so nothing here touches the
machine's shared Redis or PostgreSQL servers. Leases, reconciling and leadership are made short
through the environment so that recovery happens in seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, func, select
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from evals.config import load_config
from service.storage import catalog
from service.storage.db import session_scope
from service.storage.tables import CaseRow, CompletionRow, CycleRow, RunRow, ScoreRow
from tests.jobs.workers import scheduler_process, trigger_cycle, wait_for, wait_for_cycle, worker_process
from tests.peers.openai_peer import OpenAIPeer, last_user_text
from tests.peers.redis_server import RedisServer
from tests.peers.tcp_proxy import TcpProxy

FAST = {"TURNOUT_LEASE_S": "3", "TURNOUT_RECONCILE_AFTER_S": "2", "TURNOUT_SCHEDULER_SYNC_S": "0.5",
        "TURNOUT_LEADER_TTL_S": "3"}
"""Recovery in seconds: leases end after 3 s, silent work is re-sent after 2 s, leaders expire after 3 s."""

N_CASES = 36
"""With 0.2 s per answer and 2 in flight, a run lasts about 4 s: long enough to be cut in the middle."""

CONFIG = """\
golden_sets:
  - {{name: qa, file: qa.jsonl, privacy: internal}}
models:
  - {{name: prod, base_url: "{prod_url}", model: prod-model, params: {{temperature: 0, max_tokens: 32}},
     max_concurrency: 2, max_retries: 1, timeout_s: 10, hosting: api, residency: us,
     pricing: {{input_per_mtok: 1000.0, output_per_mtok: 2000.0}}}}
  - {{name: cand, base_url: "{cand_url}", model: cand-model, max_concurrency: 2, max_retries: 1, timeout_s: 10,
     hosting: self_hosted}}
watches:
  - name: qa-watch
    golden_set: qa
    production: prod
    candidates: [cand]
    scorers: [{{name: exact_match}}, {{name: contains, primary: true}}]
"""

_CASE = re.compile(r"^CASE (\S+)$", re.MULTILINE)


class TimedPeer(OpenAIPeer):
    """An OpenAI peer that notes when each request arrived and which case it asked about."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arrivals: list[tuple[datetime, str]] = []

    async def _chat(self, request: Request) -> Response:
        arrived = datetime.now(UTC)
        try:
            body = await request.body()  # Starlette keeps it for the second read below
        except ClientDisconnect:  # a worker killed while sending
            return Response(status_code=499)
        case = _CASE.search(last_user_text(json.loads(body)["messages"]))
        self.arrivals.append((arrived, case.group(1) if case else "?"))
        return await super()._chat(request)


@pytest.fixture
def timed_peers() -> Iterator[dict[str, TimedPeer]]:
    """The production and candidate endpoints, by run role; each answer takes 0.2 s."""
    with TimedPeer(models=["prod-model"], latency_s=0.2) as prod, \
            TimedPeer(models=["cand-model"], latency_s=0.2) as cand:
        yield {"production": prod, "candidate": cand}


@pytest.fixture
def apply_watch(database_url: str, timed_peers: dict[str, TimedPeer], tmp_path: Path) -> Callable[..., None]:
    """Declares `qa-watch` (prod vs cand, *n_cases* cases, an optional cron *schedule*) in the test database."""

    def apply(*, n_cases: int = N_CASES, schedule: str | None = None) -> None:
        cases = [{"id": f"c{i:02d}", "input": f"CASE c{i:02d}\nANSWER: a{i:02d}", "expected": f"a{i:02d}"}
                 for i in range(n_cases)]
        (tmp_path / "qa.jsonl").write_text("".join(json.dumps(case) + "\n" for case in cases))
        config = CONFIG.format(prod_url=timed_peers["production"].base_url,
                               cand_url=timed_peers["candidate"].base_url)
        if schedule:
            config += f'    schedule: "{schedule}"\n'
        (tmp_path / "turnout.yaml").write_text(config)
        with session_scope() as session:
            catalog.apply_config(session, config=load_config(tmp_path / "turnout.yaml"))

    return apply


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, empty, without persistence."""
    with RedisServer(tmp_path / "redis") as server:
        yield server


def stored(cycle_id: int) -> dict[str, int]:
    """Completions stored so far, by run role."""
    with session_scope() as session:
        rows = session.exec(select(RunRow.role, func.count(col(CompletionRow.id)))
                            .join(CompletionRow, col(CompletionRow.run_id) == RunRow.id, isouter=True)
                            .where(RunRow.cycle_id == cycle_id).group_by(RunRow.role)).all()
    return dict(rows)


def assert_every_case_stored_once(cycle: dict[str, Any], n_cases: int) -> None:
    """The cycle finished, each run answered every case, and each (run, case) has exactly one row."""
    assert cycle["state"] == "finished" and cycle["step"] == "done", cycle
    assert [(r["state"], r["done"], r["total"]) for r in cycle["runs"]] == [("finished", n_cases, n_cases)] * 2
    with session_scope() as session:
        counts = session.exec(
            select(CompletionRow.run_id, CompletionRow.case_id, CompletionRow.repetition, func.count())
            .join(RunRow, col(RunRow.id) == CompletionRow.run_id).where(RunRow.cycle_id == cycle["cycle_id"])
            .group_by(CompletionRow.run_id, CompletionRow.case_id, CompletionRow.repetition)).all()
    assert len(counts) == 2 * n_cases
    assert {count for *_, count in counts} == {1}


def assert_no_request_after_stored(cycle_id: int, peers: dict[str, TimedPeer]) -> None:
    """No endpoint received a request for a case after that case's completion was stored."""
    with session_scope() as session:
        rows = session.exec(select(RunRow.role, CaseRow.case_key, CompletionRow.created_at)
                            .join(RunRow, col(RunRow.id) == CompletionRow.run_id)
                            .join(CaseRow, col(CaseRow.id) == CompletionRow.case_id)
                            .where(RunRow.cycle_id == cycle_id)).all()
    stored_at = {(role, case): created for role, case, created in rows}
    late = [(role, case, arrived.isoformat(), stored_at[(role, case)].isoformat())
            for role, peer in peers.items() for arrived, case in peer.arrivals
            if arrived >= stored_at[(role, case)]]
    assert not late, f"requests sent after their case was stored (role, case, arrived, stored): {late}"


def tail(path: Path, n: int = 4000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


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
            wait_for(lambda: stored(cycle_id).get("production", 0) >= 6, timeout=40,
                     what=f"the first answers to be stored; worker log:\n{tail(logs)}")
            # when the worker dies with SIGKILL in the middle of the replay
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        killed_at, at_kill = datetime.now(UTC), stored(cycle_id)
        assert min(at_kill.values()) < N_CASES, at_kill  # the kill did cut a run short
        # and another worker starts
        with worker_process(database_url, log=logs, **env):
            cycle = wait_for_cycle(cycle_id, timeout=75)
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
        cycle = wait_for_cycle(cycle_id, timeout=75)
    # one run was cut short; the other had not started: its message was in Redis, and was lost
    assert sorted(at_restart.values())[0] == 0 and sorted(at_restart.values())[1] < N_CASES, at_restart
    assert_every_case_stored_once(cycle, N_CASES)
    assert_no_request_after_stored(cycle_id, timed_peers)
    assert "re-enqueueing run" in (tmp_path / "scheduler.log").read_text()


def leader_pid(broker: RedisServer) -> int | None:
    token = broker.client().get("turnout:scheduler:leader")
    return int(token.decode().split(":")[1]) if token else None


def scheduled_slots() -> dict[datetime, int]:
    """Cycles per scheduled slot."""
    with session_scope() as session:
        rows = session.exec(select(CycleRow.scheduled_for, func.count()).where(col(CycleRow.scheduled_for).is_not(None))
                            .group_by(CycleRow.scheduled_for).order_by(CycleRow.scheduled_for)).all()
    return {slot: count for slot, count in rows if slot is not None}


def created_cycles(log: Path) -> list[str]:
    """The slots a scheduler's log says it created cycles for."""
    return re.findall(r"watch qa-watch: cycle \d+ for (\S+)", log.read_text())


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
        assert _gaps(list(before)) == [], list(before)
        wait_for(lambda: len(created_cycles(logs[leader])) >= len(before), timeout=5, what="the leader's log")
        assert {slot.isoformat() for slot in before} <= set(created_cycles(logs[leader]))
        assert created_cycles(logs[standby]) == []
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
    assert len(new) >= 3 and _gaps(new) == [], new
    assert took_over_s < 60
    for log in logs.values():
        assert "Traceback" not in log.read_text(), tail(log)


def _gaps(slots: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Consecutive slots further apart than the watch's 2 seconds."""
    return [(x, y) for x, y in zip(slots, slots[1:], strict=False) if (y - x).total_seconds() != 2]


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
            cycle = wait_for_cycle(cycle_id, timeout=75)
    assert min(at_cut.values()) < N_CASES, at_cut
    # then the tasks retried (the worker says so) and the cycle completed with every case once
    assert re.search(r"Retry in \d+", logs.read_text()), tail(logs)
    assert_every_case_stored_once(cycle, N_CASES)
    assert_no_request_after_stored(cycle_id, timed_peers)
    # and every row is whole: full completions, counters that match them, every score present
    with session_scope() as session:
        rows = session.exec(select(CompletionRow, CaseRow.case_key)
                            .join(RunRow, col(RunRow.id) == CompletionRow.run_id)
                            .join(CaseRow, col(CaseRow.id) == CompletionRow.case_id)
                            .where(RunRow.cycle_id == cycle_id)).all()
        completions = [completion for completion, _ in rows]
        runs = session.exec(select(RunRow).where(RunRow.cycle_id == cycle_id)).all()
        n_scores = session.exec(select(func.count()).select_from(ScoreRow).where(
            col(ScoreRow.completion_id).in_([c.id for c in completions]))).one()
    assert all(c.output == "a" + key[1:] and c.error is None and c.latency_ms and c.input_tokens
               and c.output_tokens and c.finish_reason == "stop" for c, key in rows)
    assert [(run.n_done, run.n_errors) for run in runs] == [(N_CASES, 0)] * 2
    assert n_scores == 2 * len(completions)  # two scorers, each completion scored once by each
