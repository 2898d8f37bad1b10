"""Queue depth from the broker for `/metrics`: the length of each Celery queue's Redis lists, read at
scrape time and cached a few seconds; when the broker does not answer, the gauge is left out and an
error counter says why."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from jobs.celery_app import QUEUES
from service.settings import get_settings

log = logging.getLogger(__name__)

PRIORITY_SEPARATOR = "\x06\x16"
"""kombu's Redis transport keeps a queue's prioritised messages in lists `<queue><sep><priority>`."""
PRIORITIES = (3, 6, 9)
"""kombu's default priority steps besides 0 (which is the queue's own list)."""


def redis_queue_depths(url: str, *, timeout_s: float = 0.5) -> dict[str, int]:
    """Messages waiting in each Celery queue on the Redis broker at *url* (all priorities)."""
    client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in QUEUES:
                pipe.llen(queue)
                for priority in PRIORITIES:
                    pipe.llen(f"{queue}{PRIORITY_SEPARATOR}{priority}")
            lengths = pipe.execute()
    finally:
        client.close()
    per_queue = 1 + len(PRIORITIES)
    return {queue: sum(int(n) for n in lengths[i * per_queue:(i + 1) * per_queue]) for i, queue in enumerate(QUEUES)}


def _broker_url() -> str | None:
    url = get_settings().broker
    return url if url.startswith(("redis://", "rediss://", "unix://")) else None


class QueueCollector(Collector):
    """`turnout_queue_depth{queue}` from the broker; `turnout_broker_errors{kind}` counts failed readings."""

    def __init__(self, *, cache_s: float, url: Callable[[], str | None] = _broker_url) -> None:
        self._cache_s = cache_s
        self._url = url
        self._lock = threading.Lock()
        self._read: tuple[float, dict[str, int] | None] | None = None
        self._errors: dict[str, int] = {}

    def _depths(self) -> dict[str, int] | None:
        with self._lock:
            now = time.monotonic()
            if self._read is None or now - self._read[0] >= self._cache_s:
                depths = None
                url = self._url()
                if url is not None:  # the in-process broker of `turnout up` has no queue to read
                    try:
                        depths = redis_queue_depths(url)
                    except redis.RedisError as exc:
                        kind = exc.__class__.__name__
                        self._errors[kind] = self._errors.get(kind, 0) + 1
                        log.warning("queue depth not read from the broker: %s", exc)
                self._read = (now, depths)
            return self._read[1]

    def collect(self) -> Iterator[Metric]:
        depths = self._depths()
        if depths is not None:
            gauge = GaugeMetricFamily("turnout_queue_depth", "Messages waiting in each Celery queue",
                                      labels=["queue"])
            for queue, n in depths.items():
                gauge.add_metric([queue], n)
            yield gauge
        errors = CounterMetricFamily("turnout_broker_errors", "Failed readings of the queue depth, by error",
                                     labels=["kind"])
        for kind, n in sorted(self._errors.items()):
            errors.add_metric([kind], n)
        yield errors
