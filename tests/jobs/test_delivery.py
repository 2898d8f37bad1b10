"""No request sent twice, and every cycle ends (issue 11), with real worker and scheduler processes.

Each test that runs workers gets its own throwaway Redis; lease, visibility and reconcile times are
made short through the environment (the production defaults are unchanged).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from sqlmodel import select

from evals.config import load_config
from jobs import dispatch, pipeline, reconciler
from jobs.delivery import Delivery
from jobs.leader import RedisLeadership
from service.settings import get_settings
from service.storage import catalog, leases
from service.storage.db import session_scope
from service.storage.tables import CycleRow, RunRow
from tests.conftest import REDIS_URL
from tests.jobs.faults import FAST, TimedPeer, broker, stored, tail  # noqa: F401
from tests.jobs.workers import ROOT, env_for, scheduler_process, trigger_cycle, wait_for_cycle, worker_process
from tests.peers.redis_server import RedisServer

CONFIG = """\
golden_sets:
  - {{name: qa, file: qa.jsonl, privacy: internal}}
models:
  - {{name: prod, base_url: "{prod}", model: prod-model, max_concurrency: 2, max_retries: 1, timeout_s: 10,
     hosting: api, residency: us{limits}}}
  - {{name: cand, base_url: "{cand}", model: cand-model, max_concurrency: 2, max_retries: 1, timeout_s: 10,
     hosting: self_hosted{limits}}}
  - {{name: judge, base_url: "{judge}", model: judge-model, max_retries: 0, timeout_s: 10, hosting: self_hosted{key}}}
watches:
  - name: qa-watch
    golden_set: qa
    production: prod
    candidates: [cand]
    scorers: [{scorers}]
"""

MISSING_KEY = "TURNOUT_TEST_KEY_NOBODY_SET"


@pytest.fixture
def peers() -> Iterator[dict[str, TimedPeer]]:
    """Production, candidate and judge endpoints that note which case each request asked about."""
    with TimedPeer(models=["prod-model"], latency_s=0.05) as prod, \
            TimedPeer(models=["cand-model"], latency_s=0.05) as cand, \
            TimedPeer(models=["judge-model"], latency_s=0.4) as judge:
        yield {"production": prod, "candidate": cand, "judge": judge}


def declare(tmp_path: Path, peers: dict[str, TimedPeer], *, n_cases: int, rpm: int | None = None,
            judged: bool = False, judge_key_missing: bool = False) -> Path:
    """Write and apply `qa-watch`; returns the turnout.yaml path."""
    cases = [{"id": f"c{i:02d}", "input": f"CASE c{i:02d}\nANSWER: a{i:02d}", "expected": f"a{i:02d}"}
             for i in range(n_cases)]
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(case) + "\n" for case in cases))
    scorers = "{name: contains, primary: true}" + (", {name: judge, options: {model: judge}}" if judged else "")
    path = tmp_path / "turnout.yaml"
    path.write_text(CONFIG.format(prod=peers["production"].base_url, cand=peers["candidate"].base_url,
                                  judge=peers["judge"].base_url, limits=f", rpm: {rpm}" if rpm else "",
                                  key=f", api_key_env: {MISSING_KEY}" if judge_key_missing else "",
                                  scorers=scorers))
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(path))
    return path


def requests_per_case(peer: TimedPeer) -> Counter[str]:
    return Counter(case for _, case in peer.arrivals)


def cycle_row(cycle_id: int) -> CycleRow:
    with session_scope() as session:
        cycle = session.get(CycleRow, cycle_id)
        assert cycle is not None
        return cycle


@pytest.mark.slow
def test_a_run_held_back_past_the_visibility_timeout_is_never_replayed_by_two_deliveries(
        database_url: str, peers: dict[str, TimedPeer], broker: RedisServer, tmp_path: Path) -> None:
    # given runs held back by rpm for ~10 s, a visibility timeout of 1 s, and free worker slots
    declare(tmp_path, peers, n_cases=6, rpm=30)
    env = {**FAST, "TURNOUT_REDIS_URL": broker.url, "TURNOUT_VISIBILITY_TIMEOUT_S": "1"}
    logs = tmp_path / "worker.log"
    with worker_process(database_url, log=logs, concurrency=4, **env):
        cycle_id = trigger_cycle(database_url, "qa-watch", **env)
        # when Redis hands the unacknowledged replay messages out again, with the same task id
        cycle = wait_for_cycle(cycle_id, timeout=90)
    received = Counter(re.findall(r"Task jobs\.replay_run\[([0-9a-f-]+)\] received", logs.read_text()))
    assert max(received.values()) >= 2, f"no replay message was delivered twice:\n{tail(logs)}"
    # then the cycle finished, and each endpoint was asked about each case exactly once
    assert cycle["state"] == "finished", cycle
    for role in ("production", "candidate"):
        assert requests_per_case(peers[role]) == Counter({f"c{i:02d}": 1 for i in range(6)}), role


@pytest.mark.slow
def test_a_scoring_step_slower_than_the_reconciler_pays_each_judge_call_once(
        database_url: str, peers: dict[str, TimedPeer], broker: RedisServer, tmp_path: Path) -> None:
    # given a judge-scored watch whose scoring (16 judge calls of 0.4 s, one at a time) outlasts the
    # reconciler's 2 s, a scheduler re-sending silent steps, and a free worker slot
    declare(tmp_path, peers, n_cases=8, judged=True)
    env = {**FAST, "TURNOUT_REDIS_URL": broker.url, "TURNOUT_SCORE_CONCURRENCY": "1"}
    logs = tmp_path / "worker.log"
    with scheduler_process(database_url, log=tmp_path / "scheduler.log", **env), \
            worker_process(database_url, log=logs, concurrency=2, **env):
        cycle_id = trigger_cycle(database_url, "qa-watch", **env)
        cycle = wait_for_cycle(cycle_id, timeout=90)
    assert cycle["state"] == "finished", (cycle, tail(logs))
    # then the judge saw each case twice (production's and the candidate's answer), never more
    assert requests_per_case(peers["judge"]) == Counter({f"c{i:02d}": 2 for i in range(8)}), tail(logs)


@pytest.mark.slow
def test_a_step_that_always_fails_fails_the_cycle_with_its_reason_and_is_not_sent_again(
        database_url: str, peers: dict[str, TimedPeer], broker: RedisServer, tmp_path: Path) -> None:
    # given a judge whose API key is missing on the worker: scoring raises every time
    declare(tmp_path, peers, n_cases=3, judged=True, judge_key_missing=True)
    env = {**FAST, "TURNOUT_REDIS_URL": broker.url}
    with scheduler_process(database_url, log=tmp_path / "scheduler.log", **env), \
            worker_process(database_url, log=tmp_path / "worker.log", **env):
        cycle_id = trigger_cycle(database_url, "qa-watch", **env)
        # when the reconciler re-sends it until it has failed TURNOUT_STEP_MAX_ATTEMPTS times
        cycle = wait_for_cycle(cycle_id, timeout=90)
    # then the cycle ended failed, saying which step and why
    assert cycle["state"] == "failed" and cycle["failure_kind"] == "step_failed", cycle
    assert "step score failed 3 time(s)" in cycle["reason"] and MISSING_KEY in cycle["reason"], cycle
    # and the reconciler has nothing left to send for it
    with session_scope() as session:
        assert cycle_id not in [c.id for c in leases.stalled_cycles(session, silence=timedelta(0))]


def test_turnout_run_ends_a_cycle_whose_step_fails_with_exit_1_and_the_reason(
        database_url: str, peers: dict[str, TimedPeer], tmp_path: Path) -> None:
    # given the same failing judge, run inline
    declare(tmp_path, peers, n_cases=3, judged=True, judge_key_missing=True)
    done = subprocess.run([sys.executable, "-m", "service.cli.main", "run", "qa-watch"], capture_output=True,
                          text=True, env=env_for(database_url), cwd=ROOT, timeout=120)
    # then it exits 1 with the reason, and the cycle is failed, not left running
    assert done.returncode == 1, done.stdout + done.stderr
    assert MISSING_KEY in done.stdout + done.stderr and "Traceback" not in done.stderr, done.stderr
    with session_scope() as session:
        cycle = session.exec(select(CycleRow)).one()
    assert (cycle.state, cycle.failure_kind) == ("failed", "step_failed"), cycle.reason
    assert MISSING_KEY in (cycle.reason or "")


def test_the_reconciler_backs_off_a_run_that_no_worker_takes(
        database_url: str, peers: dict[str, TimedPeer], tmp_path: Path) -> None:
    # given a cycle whose replay messages wait in a queue no worker reads
    declare(tmp_path, peers, n_cases=2)
    queue = redis.Redis.from_url(REDIS_URL)
    queue.delete("replay")
    cycle_id = dispatch.trigger(watch="qa-watch")
    silence = timedelta(seconds=get_settings().reconcile_after_s)

    def last_sent(ago: timedelta) -> None:
        with session_scope() as session:
            now = leases.db_now(session)
            session.execute(sa.update(RunRow).where(RunRow.cycle_id == cycle_id).values(enqueued_at=now - ago))

    try:
        # when the first message has gone unanswered for longer than the silence, it is sent again
        last_sent(silence * 1.5)
        assert reconciler.reconcile() == 2
        # then the second is given twice as long, the third four times as long
        last_sent(silence * 1.5)
        assert reconciler.reconcile() == 0
        last_sent(silence * 2.5)
        assert reconciler.reconcile() == 2
        last_sent(silence * 3.5)
        assert reconciler.reconcile() == 0
        with session_scope() as session:
            counts = [run.enqueue_count for run in session.exec(select(RunRow)).all()]
            assert counts == [3, 3]
            # and a worker taking the run resets the count
            run_id = session.exec(select(RunRow.id)).first()
            assert run_id is not None and leases.take_lease(session, run_id=run_id, owner="w")
        with session_scope() as session:
            assert session.get(RunRow, run_id).enqueue_count == 0  # type: ignore[union-attr]
    finally:
        queue.delete("replay")


def test_a_replay_whose_lease_passes_to_another_delivery_stops_sending(
        database_url: str, peers: dict[str, TimedPeer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a long replay (80 cases, 2 in flight, 0.2 s each) whose lease is renewed every 0.5 s
    monkeypatch.setenv("TURNOUT_LEASE_S", "1.5")
    get_settings.cache_clear()
    peers["production"].latency_s = 0.2
    declare(tmp_path, peers, n_cases=80)
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    with session_scope() as session:
        run_id = session.exec(select(RunRow.id).where(RunRow.cycle_id == cycle_id, RunRow.role == "production")
                              ).one()
    assert run_id is not None

    async def scenario() -> int:
        hub = pipeline.limits_hub(shared=False)
        replay = asyncio.create_task(pipeline.replay_run(run_id, delivery=Delivery(owner="first"), hub=hub))
        while stored(cycle_id).get("production", 0) < 6:
            await asyncio.sleep(0.1)
        # when its lease ends and another delivery takes it (as after a long database outage)
        with session_scope() as session:
            session.execute(sa.update(RunRow).where(RunRow.id == run_id)
                            .values(lease_owner="second", lease_expires_at=leases.db_now(session) + timedelta(hours=1)))
        asked = len(peers["production"].arrivals)
        await replay
        await hub.aclose()
        return asked

    asked_at_takeover = asyncio.run(scenario())
    # then the first delivery stopped at its next heartbeat, long before the end, and left the lease alone
    sent = len(peers["production"].arrivals)
    assert sent < 80 and sent - asked_at_takeover < 20, (asked_at_takeover, sent)
    with session_scope() as session:
        run = session.get(RunRow, run_id)
        assert run is not None and run.lease_owner == "second" and run.n_done < 80


class _ExpiresBetweenGetAndDelete(redis.Redis):
    """A client on which the lock expires and another replica takes it right after any GET."""

    other_token = b"other-replica"
    took = False

    def get(self, name: str) -> bytes | None:  # type: ignore[override]
        value = super().get(name)
        super().set(name, self.other_token, px=30_000)
        self.took = True
        return value  # type: ignore[no-any-return]


def test_a_leader_releasing_never_deletes_the_lock_another_replica_took() -> None:
    # given a leader whose lock passes to another replica between a read and the next command
    client = _ExpiresBetweenGetAndDelete.from_url(REDIS_URL)
    key = "turnout:test:leader-release"
    client.delete(key)
    leader = RedisLeadership(client, ttl_s=30, key=key)
    assert leader.hold()
    try:
        # when the leader releases
        leader.release()
        # then the lock is the other replica's if it took it, and gone only if it was still the leader's
        left = redis.Redis.get(client, key)
        assert left == (client.other_token if client.took else None), (client.took, left)
    finally:
        client.delete(key)
        client.close()
