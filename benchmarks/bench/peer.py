"""benchmarks/peer_server.py in a process of its own, and what it serves to a near-free client."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import urllib.request
from typing import Any

from bench.common import HERE, MAX_TOKENS, MODEL, PYTHON, Row
from bench.measure import peer_cpu, rate


class Peer:
    """benchmarks/peer_server.py in its own process."""

    def __init__(self, latency_s: float) -> None:
        self.process = subprocess.Popen(
            [PYTHON, str(HERE / "peer_server.py"), "--latency-s", str(latency_s), "--model", MODEL],
            stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("benchmarks/peer_server.py did not start")
        info = json.loads(line)
        self.base_url: str = info["base_url"]
        self.server = f"{info['workers']} worker(s), {info['loop']}+{info['http']}"
        self.root = self.base_url.removesuffix("/v1")

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.root + "/stats/reset", method="POST")).read()

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = json.loads(urllib.request.urlopen(self.root + "/stats").read())
        return stats

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


async def _raw_load(host: str, port: int, body: bytes, concurrency: int, n: int) -> int:
    """Hammer the peer with the cheapest possible HTTP/1.1 client; returns the answers that were not 200."""
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode()
    left, bad = n, 0

    async def worker() -> None:
        nonlocal left, bad
        reader, writer = await asyncio.open_connection(host, port)
        while left > 0:
            left -= 1
            writer.write(head + body)
            status = await reader.readuntil(b"\r\n\r\n")
            bad += not status.startswith(b"HTTP/1.1 200")
            await reader.readuntil(b"\r\n0\r\n\r\n")  # the end of a chunked (streamed) body
        writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return bad


def peer_ceiling(peer: Peer, cases: list[dict[str, Any]], concurrency: int, n: int) -> Row:
    """What the peer serves to a client that costs almost nothing: it must exceed C / latency."""
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": cases[0]["input"]}],
                       "stream": True, "stream_options": {"include_usage": True}, "temperature": 0,
                       "max_tokens": MAX_TOKENS}).encode()
    host, port = peer.root.removeprefix("http://").split(":")
    peer.reset()
    before = peer.stats()
    started = time.monotonic()
    try:
        import uvloop

        bad = uvloop.run(_raw_load(host, int(port), body, concurrency, n))
    except ImportError:
        bad = asyncio.run(_raw_load(host, int(port), body, concurrency, n))
    wall = time.monotonic() - started
    stats = peer.stats()
    return Row("peer (raw HTTP client)", concurrency, stats["answered"], rate(stats["answered"], stats),
               wall, float("nan"), errors=bad, peer_cpu_ms_per_item=peer_cpu(stats, stats["answered"], before))
