"""Commands that run or steer work on the workers: trigger, cancel, status, scheduler, up, api."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from service.cli import output
from service.settings import IN_PROCESS_BROKER, get_settings
from service.storage import migrate, runs
from service.storage.db import get_engine, session_scope
from service.storage.status import status

if TYPE_CHECKING:
    from jobs.scheduler import Scheduler

API_FACTORY = "service.web.app:create_app"
"""What `turnout api` and `turnout up` serve, as uvicorn's `module:factory` string: the API with the
dashboard mounted at `/`."""


def cmd_trigger(args: argparse.Namespace) -> int:
    from jobs import dispatch  # imports the Celery app: only for commands that enqueue

    cycle_id = dispatch.trigger(watch=args.watch, trigger="manual")
    print(f"cycle {cycle_id} of {args.watch} queued; `turnout status` shows its progress")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    with session_scope() as session:
        runs.cancel_cycle(session, cycle_id=args.cycle_id)
    print(f"cycle {args.cycle_id} cancelled; runs stop at their next batch, what was stored is kept")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with session_scope() as session:
        document = status(session, limit=args.limit, watch=args.watch)
    if args.json:
        output.print_json(document.model_dump(mode="json"))
    else:
        output.print_status(document)
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    import redis

    from jobs.leader import RedisLeadership
    from jobs.scheduler import Scheduler

    settings = get_settings()
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    if args.check:
        client.ping()
        migrate.ensure_current(get_engine())
        print("database and Redis answer")
        return 0
    _log_to_stderr()
    scheduler = Scheduler(RedisLeadership(client, ttl_s=settings.leader_ttl_s))
    _stop_on_signals(scheduler.stop)
    scheduler.run()
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    """API + scheduler + worker in one process, with an in-process broker."""
    with embedded(concurrency=args.concurrency):
        print(f"turnout up: worker ({args.concurrency} threads) and scheduler running on "
              f"{get_settings().database_url}; Ctrl-C stops", file=sys.stderr)
        stopped = threading.Event()
        if args.port:
            serve_api(args.host, args.port, stopped)
        else:
            _stop_on_signals(stopped.set)
            stopped.wait()
    print("turnout up: stopped", file=sys.stderr)
    return 0


@contextmanager
def embedded(*, concurrency: int, log: bool = True) -> Iterator[Scheduler]:
    """A Celery worker (threads) and the scheduler in this process, on an in-process broker, until the block ends.

    Yields:
        The scheduler, which the caller may stop early (`Scheduler.stop`).
    """
    # The settings themselves say the broker is in-process, so every reader of them (rate limits,
    # the Celery app) stays in this process and none tries the Redis of `TURNOUT_REDIS_URL`.
    os.environ["TURNOUT_BROKER_URL"] = IN_PROCESS_BROKER
    get_settings.cache_clear()
    from jobs.celery_app import QUEUES, celery_app
    from jobs.leader import LocalLeadership
    from jobs.scheduler import Scheduler

    if log:
        _log_to_stderr()
    celery_app.conf.update(broker_url=get_settings().broker)  # before anything connects
    worker = celery_app.WorkController(pool_cls="threads", concurrency=concurrency, queues=list(QUEUES),
                                       without_heartbeat=True, without_mingle=True, without_gossip=True,
                                       loglevel="WARNING")
    scheduler = Scheduler(LocalLeadership())
    threads = [threading.Thread(target=worker.start, name="worker", daemon=True),
               threading.Thread(target=scheduler.run, name="scheduler", daemon=True)]
    for thread in threads:
        thread.start()
    try:
        yield scheduler
    finally:
        scheduler.stop()
        worker.stop(in_sighandler=False)
        for thread in threads:
            thread.join(timeout=10)


def cmd_api(args: argparse.Namespace) -> int:
    serve_api(args.host, args.port, threading.Event(), workers=args.workers)
    return 0


def worker_count(text: str) -> int:
    """`--workers`: a whole number of processes, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"needs at least 1 process, got {value}")
    return value


def serve_api(host: str, port: int, stopped: threading.Event, *, workers: int = 1) -> None:
    """Serve the API app (`API_FACTORY`) with uvicorn until Ctrl-C; *stopped* is set when it ends.

    With *workers* above 1, uvicorn's supervisor starts that many processes, each with its own event loop
    and database pool, accepting on one socket (it must then run in the main thread, as `turnout api` does).
    """
    try:
        import fastapi  # noqa: F401 - only checks that the web stack is installed
        import uvicorn
    except ImportError:
        raise SystemExit("error: the API needs the web stack: pip install 'turnout[api]'") from None
    # The API is named as a process entry point, not imported: service.cli and service.api are siblings.
    uvicorn.run(API_FACTORY, factory=True, host=host, port=port, workers=workers,  # handles Ctrl-C itself
                log_level="warning")
    stopped.set()


def _stop_on_signals(stop: object) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop()  # type: ignore[operator]

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _log_to_stderr() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
