"""A watch written through the API reaches a running `turnout scheduler` process at its next sync:
created, it is scheduled; paused or deleted, it is not; resumed, it is again. No restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.storage.db import session_scope
from service.storage.tables import CycleRow, WatchRow
from tests.jobs.workers import scheduler_process, wait_for
from tests.peers.redis_server import RedisServer

SYNC_S = 0.5
EVERY_S = 2
ENV = {"TURNOUT_SCHEDULER_SYNC_S": str(SYNC_S), "TURNOUT_LEADER_TTL_S": "3", "TURNOUT_RECONCILE_AFTER_S": "600"}
WATCH = {"golden_set": "qa", "production": "prod", "scorers": ["exact_match"], "schedule": f"*/{EVERY_S} * * * * *"}
WITHIN_S = SYNC_S + EVERY_S + 3
"""A sync, then a slot, then slack for a loaded machine."""


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


def scheduled(name: str) -> list[CycleRow]:
    with session_scope() as session:
        return list(session.exec(select(CycleRow).join(WatchRow, col(WatchRow.id) == CycleRow.watch_id).where(
            WatchRow.name == name, col(CycleRow.scheduled_for).is_not(None))).all())


@pytest.mark.slow
def test_api_writes_reach_the_running_scheduler_within_its_sync(
        client: TestClient, tokens: dict[str, str], applied: Path, database_url: str, broker: RedisServer,
        tmp_path: Path) -> None:
    editor = {"Authorization": tokens["editor"]}
    log = tmp_path / "scheduler.log"
    with scheduler_process(database_url, log=log, TURNOUT_REDIS_URL=broker.url, **ENV):
        wait_for(lambda: "now the leader" in log.read_text(), timeout=30, what="the scheduler to lead")
        # when a watch firing every 2 seconds is created through the API
        assert client.put("/api/v1/watches/api-watch", json=WATCH, headers=editor).status_code == 200
        # then the scheduler makes its cycles, without a restart
        wait_for(lambda: scheduled("api-watch"), timeout=WITHIN_S, what=f"a scheduled cycle:\n{log.read_text()}")

        # when it is paused through the API, no slot after the next sync gets a cycle
        assert client.post("/api/v1/watches/api-watch/pause", headers=editor).json()["action"] == "updated"
        time.sleep(SYNC_S * 3)
        before = len(scheduled("api-watch"))
        time.sleep(EVERY_S * 2 + 0.5)
        assert len(scheduled("api-watch")) == before

        # when it is resumed by a PUT of its declaration, cycles come again
        assert client.put("/api/v1/watches/api-watch", json={**WATCH, "paused": False},
                          headers=editor).json()["action"] == "updated"
        wait_for(lambda: len(scheduled("api-watch")) > before, timeout=WITHIN_S, what="cycles after resuming")

        # when it is deleted through the API, it is unscheduled
        assert client.delete("/api/v1/watches/api-watch", headers=editor).json()["action"] == "deleted"
        time.sleep(SYNC_S * 3)
        after = len(scheduled("api-watch"))
        time.sleep(EVERY_S * 2 + 0.5)
        assert len(scheduled("api-watch")) == after
    assert "Traceback" not in log.read_text()
    # and the watch turnout.yaml declared (a daily cron) made no cycle meanwhile
    assert scheduled("qa-watch") == []
