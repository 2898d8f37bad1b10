"""`turnout up` is the embedded default: with no Redis anywhere, its cycles finish and nothing tries Redis."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.jobs.workers import env_for, run_turnout_up, scheduled_cycles_finished
from tests.peers.openai_peer import OpenAIPeer


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_turnout_up_with_no_redis_finishes_a_cycle_and_logs_no_redis_warning(
        tmp_path: Path, peers: tuple[OpenAIPeer, OpenAIPeer], watch_file: Path) -> None:
    # given a rate-limited model (rpm, tpm) in a watch that fires every 3 seconds, on SQLite,
    # with the Redis URL pointing at a port nothing listens on
    text = watch_file.read_text().replace('schedule: "0 6 * * *"', 'schedule: "*/3 * * * * *"')
    watch_file.write_text(text.replace("    max_concurrency: 4\n", "    max_concurrency: 4\n    rpm: 6000\n"
                                                                   "    tpm: 1000000\n"))
    env = env_for(f"sqlite:///{tmp_path / 'up.db'}", TURNOUT_REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0",
                  TURNOUT_SCHEDULER_SYNC_S="1")
    env.pop("TURNOUT_BROKER_URL", None)
    # when it runs, then a scheduled cycle finishes, its rate-limited model answered
    up = run_turnout_up(watch_file, env, tmp_path / "up.log", until=lambda: scheduled_cycles_finished(env),
                        timeout=60, what="a finished scheduled cycle")
    assert up.returncode == 0, up.output[-3000:]
    assert len(peers[0].requests) >= 4
    # and nothing tried Redis: no fallback warning, no connection error
    assert "redis" not in up.output.replace(str(tmp_path), "").lower(), up.output[-3000:]
