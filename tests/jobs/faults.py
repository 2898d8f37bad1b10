"""What the fault tests share: endpoints that note when each case was asked for, a watch of
enough cases to be cut in the middle, a throwaway Redis, and checks on what was stored."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from evals.config import load_config
from service.storage import catalog
from service.storage.db import session_scope
from service.storage.tables import CaseRow, CompletionRow, CycleRow, RunRow
from tests.jobs.workers import cycle_state, wait_for, wait_for_cycle
from tests.peers.openai_peer import OpenAIPeer, last_user_text
from tests.peers.redis_server import RedisServer

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


def cycle_done(cycle_id: int) -> dict[str, Any]:
    """Wait for the cycle to end and for its last step to be marked (a moment after its final state)."""
    wait_for_cycle(cycle_id, timeout=75)
    return wait_for(lambda: (c := cycle_state(cycle_id))["step"] == "done" and c, timeout=5,
                    what=f"cycle {cycle_id} to reach step 'done'")


def assert_every_case_stored_once(cycle: dict[str, Any], n_cases: int) -> None:
    """The cycle finished, each run answered every case, and each (run, case) has exactly one row."""
    assert cycle["state"] == "finished" and cycle["step"] == "done", cycle
    assert [(r["state"], r["done"], r["total"]) for r in cycle["runs"]] == [("finished", n_cases, n_cases)] * 2
    with session_scope() as session:
        counts = session.exec(
            select(CompletionRow.run_id, CompletionRow.golden_case_id, CompletionRow.repetition, func.count())
            .join(RunRow, col(RunRow.id) == CompletionRow.run_id).where(RunRow.cycle_id == cycle["cycle_id"])
            .group_by(CompletionRow.run_id, CompletionRow.golden_case_id, CompletionRow.repetition)).all()
    assert len(counts) == 2 * n_cases
    assert {count for *_, count in counts} == {1}


def assert_no_request_after_stored(cycle_id: int, peers: dict[str, TimedPeer]) -> None:
    """No endpoint received a request for a case after that case's completion was stored."""
    with session_scope() as session:
        rows = session.exec(select(RunRow.role, CaseRow.case_key, CompletionRow.created_at)
                            .join(RunRow, col(RunRow.id) == CompletionRow.run_id)
                            .join(CaseRow, col(CaseRow.id) == CompletionRow.golden_case_id)
                            .where(RunRow.cycle_id == cycle_id)).all()
    stored_at = {(role, case): created for role, case, created in rows}
    late = [(role, case, arrived.isoformat(), stored_at[(role, case)].isoformat())
            for role, peer in peers.items() for arrived, case in peer.arrivals
            if arrived >= stored_at[(role, case)]]
    assert not late, f"requests sent after their case was stored (role, case, arrived, stored): {late}"


def tail(path: Path, n: int = 4000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


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


def gaps(slots: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Consecutive slots further apart than the watch's 2 seconds."""
    return [(x, y) for x, y in zip(slots, slots[1:], strict=False) if (y - x).total_seconds() != 2]
