"""The test suite's OpenAI-compatible peer, served in a process of its own for benchmarks.

    python benchmarks/peer_server.py --latency-s 0.1 --model bench-model

prints one JSON line `{"base_url": ..., "pid": ...}` once it accepts connections, then serves until
it receives SIGTERM or SIGINT. Besides the peer's `/v1/...` routes it answers:

- `GET /stats`: chat requests received, the first arrival and last arrival, the end of the last
  answer (epoch seconds), the most answered at once, and this process's CPU seconds;
- `POST /stats/reset`: start counting again (send it between measurements).

It runs on uvloop and httptools when they are installed: with the asyncio loop and h11 the server,
not the client, is the limit at 64 concurrent streams on a small machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import sys
import time
from pathlib import Path
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.peers.openai_peer import OpenAIPeer  # noqa: E402

Scope = dict[str, Any]


class ArrivalStats:
    """ASGI middleware that times chat requests from arrival to the last byte of their answer."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.reset()

    def reset(self) -> None:
        self.received = 0
        self.answered = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.first_arrival: float | None = None
        self.last_arrival: float | None = None
        self.last_done: float | None = None

    def snapshot(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"received": self.received, "answered": self.answered, "max_in_flight": self.max_in_flight,
                "first_arrival": self.first_arrival, "last_arrival": self.last_arrival,
                "last_done": self.last_done, "cpu_s": usage.ru_utime + usage.ru_stime}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in ("/stats", "/stats/reset"):
            if path == "/stats/reset":
                self.reset()
            await _json(send, self.snapshot())
            return
        if not path.endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        now = time.time()
        self.received += 1
        self.first_arrival = self.first_arrival or now
        self.last_arrival = now
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        finished = False

        async def timed_send(message: dict[str, Any]) -> None:
            nonlocal finished
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body") and not finished:
                finished = True
                self.answered += 1
                self.last_done = time.time()

        try:
            await self.app(scope, receive, timed_send)
        finally:
            self.in_flight -= 1


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-s", type=float, default=0.1, help="delay before the first byte of an answer")
    parser.add_argument("--model", action="append", dest="models", help="a model name served (repeatable)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)

    peer = OpenAIPeer(latency_s=args.latency_s, models=args.models or ["bench-model"])
    app = ArrivalStats(peer.app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", backlog=2048,
        loop="uvloop" if _installed("uvloop") else "asyncio",
        http="httptools" if _installed("httptools") else "h11",
    )
    server = uvicorn.Server(config)
    loop_name, http_name = config.loop, config.http

    original_startup = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets=sockets)
        print(json.dumps({"base_url": f"http://127.0.0.1:{port}/v1", "pid": os.getpid(),
                          "loop": loop_name, "http": http_name}), flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
