"""Real Celery worker and scheduler processes for tests, and waiting for cycles to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.storage.db import session_scope
from service.storage.status import status

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def env_for(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a worker process pointed at the test database and Redis."""
    return {**os.environ, "TURNOUT_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **extra}


@contextmanager
def worker_process(database_url: str, *, queues: str = "replay,score,analyze,alerts", concurrency: int = 2,
                   log: Path | None = None, **extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """`celery -A jobs.celery_app worker` as its own process group (so a test can SIGKILL it whole)."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [str(BIN / "celery"), "-A", "jobs.celery_app", "worker", "-Q", queues, "-c", str(concurrency),
         "--pool", "prefork", "-l", "info", "--without-gossip", "--without-mingle", "-n", f"w{time.time_ns()}@%h"],
        cwd=ROOT, env=env_for(database_url, **extra), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        stop_group(process)


@contextmanager
def scheduler_process(database_url: str, *, log: Path | None = None,
                      **extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """`turnout scheduler` as its own process group (its pid is the one in the leader lock's token)."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    process = subprocess.Popen([str(BIN / "turnout"), "scheduler"], cwd=ROOT, env=env_for(database_url, **extra),
                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        stop_group(process)


@dataclass
class EmbeddedRun:
    """What `turnout up` printed, and how it exited once stopped with Ctrl-C."""

    output: str
    returncode: int


def run_turnout_up(watch_file: Path, env: dict[str, str], log: Path, *, until: Callable[[], Any],
                   timeout: float, what: str) -> EmbeddedRun:
    """Apply *watch_file* to a fresh database, run `turnout up` until *until* holds, then stop it with Ctrl-C."""
    turnout = str(BIN / "turnout")
    for args in (["db", "upgrade"], ["apply", "-f", str(watch_file)]):
        done = subprocess.run([turnout, *args], env=env, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    with open(log, "wb") as out:
        process = subprocess.Popen([turnout, "up"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(until, timeout=timeout, what=what, every=1)
        finally:
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=30)
    return EmbeddedRun(log.read_text(), code)


def scheduled_cycles_finished(env: dict[str, str]) -> int:
    """How many scheduled cycles `turnout status --json` shows as finished (0 while it cannot answer)."""
    status_ = subprocess.run([str(BIN / "turnout"), "status", "--json"], env=env, cwd=ROOT, capture_output=True,
                             text=True)
    cycles = json.loads(status_.stdout)["cycles"] if status_.returncode == 0 else []
    return sum(1 for c in cycles if c["trigger"] == "schedule" and c["state"] == "finished")


def trigger_cycle(database_url: str, watch: str, **extra: str) -> int:
    """`turnout trigger WATCH` in a subprocess (so it enqueues on the broker *extra* names); the cycle id."""
    done = subprocess.run([str(BIN / "turnout"), "trigger", watch], cwd=ROOT, env=env_for(database_url, **extra),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return int(done.stdout.split()[1])  # "cycle 12 of WATCH queued; ..."


def stop_group(process: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop a process and its children."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def wait_for(predicate: Callable[[], Any], *, timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll *predicate* until it returns something truthy; fail with *what* after *timeout* s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def cycle_state(cycle_id: int) -> dict[str, Any]:
    """The `turnout status --json` entry of one cycle."""
    with session_scope() as session:
        cycles = status(session, limit=200).model_dump(mode="json")["cycles"]
        return next(c for c in cycles if c["cycle_id"] == cycle_id)


def wait_for_cycle(cycle_id: int, *, timeout: float = 90) -> dict[str, Any]:
    """Wait until the cycle is over; returns its status entry."""
    def ended(c: dict[str, Any]) -> bool:
        # A finished cycle's step turns `done` a moment after its state: wait for both.
        return c["state"] in ("failed", "cancelled") or (c["state"] == "finished" and c["step"] == "done")

    return wait_for(lambda: ended(c := cycle_state(cycle_id)) and c, timeout=timeout, what=f"cycle {cycle_id} to end")
