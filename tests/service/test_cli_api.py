"""`turnout api` as a real process: one or several server processes on one port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from service.storage import access
from service.storage.db import session_scope
from tests.peers.redis_server import free_port


@contextmanager
def serving(*args: str, database_url: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    env = {**os.environ, "TURNOUT_DATABASE_URL": database_url}
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli.main", "api", "--port", str(port), *args],
        env=env,
        text=True,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "turnout api did not answer /healthz within 60 s"
                time.sleep(0.2)
        yield server, base
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def serving_children(pid: int) -> list[int]:
    """The processes *pid* started to serve: multiprocessing's spawned children, not its resource tracker."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
    return found


@pytest.mark.parametrize("workers", [1, 2])
def test_turnout_api_serves_from_as_many_processes_as_asked(database_url: str, workers: int) -> None:
    with session_scope() as session:
        token = access.create_token(session, role="viewer", name="cli-api").token
    headers = {"Authorization": f"Bearer {token}"}
    args = ("--workers", str(workers)) if workers > 1 else ()
    with serving(*args, database_url=database_url) as (server, base):
        # with --workers, uvicorn's supervisor forks the processes that serve; without, it serves itself
        assert len(serving_children(server.pid)) == (workers if workers > 1 else 0)
        answers = [httpx.get(base + "/api/v1/watches", headers=headers) for _ in range(6)]
        assert [answer.status_code for answer in answers] == [200] * 6
        assert answers[0].json() == {"watches": []}
        assert httpx.get(base + "/api/v1/watches").status_code == 401
    assert server.returncode == 0


@pytest.mark.parametrize(
    ("value", "message"), [("0", "needs at least 1 process, got 0"), ("two", "not a whole number: 'two'")]
)
def test_turnout_api_refuses_a_worker_count_that_is_not_one_or_more(
    database_url: str, value: str, message: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "api", "--workers", value],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TURNOUT_DATABASE_URL": database_url},
    )
    assert done.returncode == 2 and f"--workers: {message}" in done.stderr
