"""The test suite's OpenAI-compatible peer, served by processes of its own for benchmarks.

    python benchmarks/peer_server.py --latency-s 0.1 --model bench-model [--workers 2]

prints one JSON line `{"base_url": ..., "pid": ...}` once it listens, then serves until it receives
SIGTERM or SIGINT. Besides the peer's `/v1/...` routes it answers:

- `GET /stats`: chat requests received and answered, the first and last arrival, the end of the
  last answer (epoch seconds), the most answered at once, and the CPU seconds its workers used;
- `POST /stats/reset`: count again from zero (CPU seconds keep growing; take differences).

Each worker process runs the same `tests/peers/openai_peer.py` app on uvloop and httptools (when
installed) on its own listening socket of the same port; the counters live in shared memory. One
worker costs about 1 ms of CPU per streamed answer, which on a 2-core machine shared with the
client left it short of 640 answers/s at C = 64 and 100 ms; two keep it above.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import multiprocessing
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.peers.openai_peer import OpenAIPeer  # noqa: E402

_FIELDS = ("received", "answered", "in_flight", "max_in_flight", "first_arrival", "last_arrival", "last_done")
_MAX_WORKERS = 16


class SharedStats:
    """Counters shared by the worker processes (created before they fork)."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self.lock = ctx.Lock()
        self.values = ctx.RawArray(ctypes.c_double, len(_FIELDS))
        self.pids = ctx.RawArray(ctypes.c_long, _MAX_WORKERS)
        self._index = {name: i for i, name in enumerate(_FIELDS)}

    def arrived(self) -> None:
        now, v, i = time.time(), self.values, self._index
        with self.lock:
            v[i["received"]] += 1
            v[i["in_flight"]] += 1
            v[i["max_in_flight"]] = max(v[i["max_in_flight"]], v[i["in_flight"]])
            v[i["first_arrival"]] = v[i["first_arrival"]] or now
            v[i["last_arrival"]] = now

    def answered(self) -> None:
        now, v, i = time.time(), self.values, self._index
        with self.lock:
            v[i["answered"]] += 1
            v[i["last_done"]] = now

    def left(self) -> None:
        with self.lock:
            self.values[self._index["in_flight"]] -= 1

    def reset(self) -> None:
        with self.lock:
            in_flight = self.values[self._index["in_flight"]]
            for i in range(len(_FIELDS)):
                self.values[i] = 0.0
            self.values[self._index["in_flight"]] = in_flight

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            data: dict[str, Any] = {name: self.values[i] for name, i in self._index.items()}
        for name in ("received", "answered", "in_flight", "max_in_flight"):
            data[name] = int(data[name])
        for name in ("first_arrival", "last_arrival", "last_done"):
            data[name] = data[name] or None
        data["cpu_s_by_worker"] = [_cpu_s(pid) for pid in self.pids if pid]
        data["cpu_s"] = sum(data["cpu_s_by_worker"])
        data["workers"] = sum(1 for pid in self.pids if pid)
        return data


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ArrivalStats:
    """ASGI middleware that times chat requests from arrival to the last byte of their answer."""

    def __init__(self, app: Any, stats: SharedStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in ("/stats", "/stats/reset"):
            if path == "/stats/reset":
                self.stats.reset()
            await _json(send, self.stats.snapshot())
            return
        if not path.endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        self.stats.arrived()
        finished = False

        async def timed_send(message: dict[str, Any]) -> None:
            nonlocal finished
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body") and not finished:
                finished = True
                self.stats.answered()

        try:
            await self.app(scope, receive, timed_send)
        finally:
            self.stats.left()


async def _json(send: Any, data: dict[str, Any]) -> None:
    body = json.dumps(data).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _serve(sock: socket.socket, stats: SharedStats, latency_s: float, models: list[str]) -> None:
    """One worker: the peer's app behind the stats middleware, on the shared socket."""
    peer = OpenAIPeer(latency_s=latency_s, models=models)
    config = uvicorn.Config(
        ArrivalStats(peer.app, stats), log_level="warning", access_log=False, lifespan="off",
        loop="uvloop" if _installed("uvloop") else "asyncio", http="httptools" if _installed("httptools") else "h11",
    )
    uvicorn.Server(config).run(sockets=[sock])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--latency-s", type=float, default=0.1, help="delay before the first byte of an answer")
    parser.add_argument("--model", action="append", dest="models", help="a model name served (repeatable)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="server processes")
    args = parser.parse_args(argv)
    workers = max(1, min(args.workers, _MAX_WORKERS))

    # A listening socket per worker on one port (SO_REUSEPORT): the kernel spreads connections
    # evenly, where workers accepting from one socket took them 2:1.
    port, sockets = args.port, []
    for _ in range(workers):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(2048)  # connections wait in the backlog until their worker accepts them
        port = sock.getsockname()[1]
        sockets.append(sock)
    stats = SharedStats()
    ctx = multiprocessing.get_context("fork")
    processes = [ctx.Process(target=_serve, args=(sock, stats, args.latency_s, args.models or ["bench-model"]),
                             daemon=True) for sock in sockets]
    for i, process in enumerate(processes):
        process.start()
        stats.pids[i] = process.pid or 0

    def stop(signum: int, frame: object) -> None:
        for process in processes:
            if process.pid:
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"base_url": f"http://127.0.0.1:{port}/v1", "pid": os.getpid(), "workers": workers,
                      "loop": "uvloop" if _installed("uvloop") else "asyncio",
                      "http": "httptools" if _installed("httptools") else "h11"}), flush=True)
    for process in processes:
        process.join()


if __name__ == "__main__":
    main()
