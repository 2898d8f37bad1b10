"""`turnout up` is the embedded default: with no Redis anywhere, its cycles finish and nothing tries Redis."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.jobs.workers import BIN, ROOT, env_for, wait_for
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
    url = f"sqlite:///{tmp_path / 'up.db'}"
    env = env_for(url, TURNOUT_REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0", TURNOUT_SCHEDULER_SYNC_S="1")
    env.pop("TURNOUT_BROKER_URL", None)
    turnout = str(BIN / "turnout")
    for args in (["db", "upgrade"], ["apply", "-f", str(watch_file)]):
        done = subprocess.run([turnout, *args], env=env, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([turnout, "up"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            def a_finished_cycle() -> bool:
                status = subprocess.run([turnout, "status", "--json"], env=env, cwd=ROOT, capture_output=True,
                                        text=True)
                cycles = json.loads(status.stdout)["cycles"] if status.returncode == 0 else []
                return any(c["trigger"] == "schedule" and c["state"] == "finished" for c in cycles)
            # when it runs, then a scheduled cycle finishes, its rate-limited model answered
            wait_for(a_finished_cycle, timeout=60, what="a finished scheduled cycle", every=1)
        finally:
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=30)
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert len(peers[0].requests) >= 4
    # and nothing tried Redis: no fallback warning, no connection error
    assert "redis" not in output.replace(str(tmp_path), "").lower(), output[-3000:]
