"""Child processes timed with their own rusage, and the figures taken from the peer's stats."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Child:
    returncode: int
    wall_s: float
    cpu_s: float
    stdout: str
    stderr: str
    machine_busy_s: float
    """CPU seconds every process of the machine used meanwhile (from /proc/stat)."""
    started_at: float
    """When it was started (epoch seconds)."""

    def phases(self, stats: dict[str, Any], last: float | None = None) -> dict[str, float | None]:
        """Seconds from the start to the first request the peer received, and from the last
        result (*last*, else the peer's last answer) to the command's exit."""
        first, last = stats["first_arrival"], last or stats["last_done"]
        return {"to_first_request_s": first - self.started_at if first else None,
                "after_last_result_s": self.started_at + self.wall_s - last if last else None}

    def other_cores(self, peer_before: dict[str, Any], peer_after: dict[str, Any]) -> float:
        peer_s = float(peer_after["cpu_s"] - peer_before["cpu_s"])
        return max(0.0, self.machine_busy_s - self.cpu_s - peer_s) / self.wall_s


def machine_busy_s() -> float:
    """CPU seconds all processes have used since boot (0 where /proc/stat is missing)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_child(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Child:
    """Run a command to its end; its CPU time (user + system, its waited-for children included) from wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        busy, started, started_at = machine_busy_s(), time.monotonic(), time.time()
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        wall, busy = time.monotonic() - started, machine_busy_s() - busy
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Child(process.returncode, wall, usage.ru_utime + usage.ru_stime, out.read(), err.read(), busy,
                     started_at)


def checked(child: Child, what: str) -> Child:
    if child.returncode != 0:
        raise RuntimeError(f"{what} exited with {child.returncode}:\n{child.stderr[-3000:]}\n{child.stdout[-2000:]}")
    return child


def rate(n: int, stats: dict[str, Any], last: float | None = None) -> float | None:
    first, last = stats["first_arrival"], last if last is not None else stats["last_done"]
    return n / (last - first) if first and last and last > first else None


def peer_cpu(stats: dict[str, Any], n: int, before: dict[str, Any] | None = None) -> float | None:
    """The peer's CPU ms per item over one measurement (stats/reset does not reset rusage)."""
    if before is None or not n:
        return None
    return float(stats["cpu_s"] - before["cpu_s"]) * 1000 / n
