"""`/metrics` reads each Celery queue's depth from the Redis broker, and says so when it cannot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from jobs.celery_app import QUEUES
from service.api.app import create_app
from service.api.broker import PRIORITIES, PRIORITY_SEPARATOR
from service.settings import get_settings
from tests.conftest import REDIS_URL

# Every list of every queue: earlier tests on this Redis database may have left messages in them.
LISTS = [name for queue in QUEUES for name in (queue, *(f"{queue}{PRIORITY_SEPARATOR}{p}" for p in PRIORITIES))]


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(*LISTS)
    monkeypatch.setenv("TURNOUT_BROKER_URL", REDIS_URL)
    get_settings.cache_clear()
    yield client
    client.delete(*LISTS)
    client.close()
    get_settings.cache_clear()


def test_queue_depth_is_the_length_of_each_queue_list(broker: redis.Redis) -> None:
    broker.rpush("score", "a", "b")
    broker.rpush("replay", "c")
    broker.rpush("replay\x06\x163", "d")  # a prioritised message of the same queue
    with TestClient(create_app()) as client:
        text = client.get("/metrics").text
    assert 'turnout_queue_depth{queue="score"} 2.0' in text
    assert 'turnout_queue_depth{queue="replay"} 2.0' in text
    assert 'turnout_queue_depth{queue="alerts"} 0.0' in text


def test_a_broker_that_does_not_answer_leaves_the_gauge_out(monkeypatch: pytest.MonkeyPatch,
                                                            database_url: str) -> None:
    monkeypatch.setenv("TURNOUT_BROKER_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        answer = client.get("/metrics")
    get_settings.cache_clear()
    assert answer.status_code == 200
    assert "turnout_queue_depth{" not in answer.text
    assert 'turnout_broker_errors_total{kind="ConnectionError"} 1.0' in answer.text
    assert 'turnout_cycles{state="queued"} 0.0' in answer.text  # the database's gauges are still there
