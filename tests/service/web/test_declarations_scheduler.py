"""A watch declared in the browser reaches a running `turnout scheduler` process at its next sync, as one
written through the API does: created, it is scheduled; paused by editing its declaration, it is not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.jobs.workers import scheduler_process, wait_for
from tests.peers.redis_server import RedisServer
from tests.service.api.test_scheduler_sync import ENV, EVERY_S, SYNC_S, WITHIN_S, scheduled
from tests.service.web.conftest import csrf_of, sign_in

TEXT = f"name: web-watch\ngolden_set: qa\nproduction: prod\nscorers: [exact_match]\nschedule: '*/{EVERY_S} * * * * *'\n"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.mark.slow
def test_a_watch_declared_in_the_browser_reaches_the_running_scheduler(
        web: TestClient, secrets: dict[str, str], applied: Path, database_url: str, broker: RedisServer,
        tmp_path: Path) -> None:
    log = tmp_path / "scheduler.log"
    sign_in(web, secrets["editor"])
    csrf = csrf_of(web.get("/declare/watch").text)
    with scheduler_process(database_url, log=log, TURNOUT_REDIS_URL=broker.url, **ENV):
        wait_for(lambda: "now the leader" in log.read_text(), timeout=30, what="the scheduler to lead")
        # when a watch firing every 2 seconds is declared in the browser, the scheduler makes its cycles
        made = web.post("/declare/watch", data={"csrf": csrf, "text": TEXT})
        assert made.status_code == 303, made.text
        wait_for(lambda: scheduled("web-watch"), timeout=WITHIN_S, what=f"a scheduled cycle:\n{log.read_text()}")

        # when its declaration is edited to pause it, no slot after the next sync gets a cycle
        paused = web.post("/watches/web-watch/edit", data={"csrf": csrf, "text": TEXT + "paused: true\n"})
        assert paused.headers["location"] == "/watches/web-watch?saved=updated"
        time.sleep(SYNC_S * 3)
        before = len(scheduled("web-watch"))
        time.sleep(EVERY_S * 2 + 0.5)
        assert len(scheduled("web-watch")) == before
    assert "Traceback" not in log.read_text()
