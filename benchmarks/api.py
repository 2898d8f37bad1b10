"""The read API under an open-loop load, on two years of stored history.

Seeds a throwaway PostgreSQL database (`benchmarks/seed.py`: 20 watches x 730 daily cycles x 2 models x
35 cases = 1,022,000 completions, each scored), serves it as `turnout api --workers N` does (a process of
its own), and sends 50 requests/s from a load generator in another process for 30 s: a third each of the
run list (`/cycles?watch=`), run detail with its first page of cases (`/runs/{id}`) and the metrics time
series (`/watches/{name}/metrics?model=`). Latency is measured from each request's scheduled start, so a
slow server is not hidden by a load that waits for it. Prints p50/p95/p99 per endpoint (target: p95 <=
100 ms), the CPU each endpoint costs per request (the same app in this process, one request at a time),
and the query plans (EXPLAIN ANALYZE) of the slowest endpoint's statements.

    python benchmarks/api.py                      # seed, measure, drop the database
    python benchmarks/api.py --keep               # keep the seeded database (its URL is printed)
    python benchmarks/api.py --database-url URL   # measure a database seeded before
    python benchmarks/api.py --workers 1          # serve from one process
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.seed import drop_database, seeded  # noqa: E402

ENDPOINTS = ("run list", "run detail", "metrics series")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _targets(url: str) -> dict[str, list[str]]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        watches = [name for (name,) in connection.execute(sa.text("SELECT name FROM watch"))]
        models = [name for (name,) in connection.execute(sa.text("SELECT name FROM model WHERE name LIKE 'prod-%'"))]
        runs = [row_id for (row_id,) in connection.execute(sa.text("SELECT id FROM run ORDER BY random() LIMIT 2000"))]
    engine.dispose()
    by_watch = {f"prod-{int(name.split('-')[1])}": name for name in watches}
    return {"run list": [f"/api/v1/cycles?watch={name}&limit=50" for name in watches],
            "run detail": [f"/api/v1/runs/{run_id}?limit=50" for run_id in runs],
            "metrics series": [f"/api/v1/watches/{by_watch[model]}/metrics?model={model}" for model in models
                               if model in by_watch]}


def _token(url: str) -> str:
    from service.settings import get_settings
    from service.storage import access
    from service.storage.db import get_engine, session_scope

    os.environ["TURNOUT_DATABASE_URL"] = url
    get_settings.cache_clear()
    get_engine.cache_clear()
    with session_scope() as session:
        return access.create_token(session, role="viewer", name="benchmark").token


def _load(base: str, token: str, targets: dict[str, list[str]], rate: float, duration: float,
          out: Any) -> None:
    """The load generator's process: one request every 1/rate s whatever the answers, endpoints in turn."""

    async def run() -> dict[str, list[float]]:
        rng = random.Random(1)
        latencies: dict[str, list[float]] = {name: [] for name in targets}
        failures: dict[str, int] = {name: 0 for name in targets}
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                     timeout=10) as client:

            async def send(name: str, path: str, due: float) -> None:
                try:
                    answer = await client.get(path)
                    ok = answer.status_code == 200
                except httpx.TransportError:  # a timeout is an answer too late: counted, with its time
                    ok = False
                latencies[name].append((time.perf_counter() - due) * 1000)
                if not ok:
                    failures[name] += 1

            tasks = []
            start = time.perf_counter() + 0.2
            for i in range(int(rate * duration)):
                due = start + i / rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                name = ENDPOINTS[i % len(ENDPOINTS)]
                tasks.append(asyncio.create_task(send(name, rng.choice(targets[name]), due)))
            await asyncio.gather(*tasks)
        return {**latencies, "_failures": [float(failures[name]) for name in ENDPOINTS]}

    out.send(asyncio.run(run()))


def _cpu_per_request(token: str, targets: dict[str, list[str]], n: int) -> dict[str, tuple[float, float]]:
    """The median and the least CPU ms per request of each endpoint over batches of 10 requests, served one at
    a time in this process by the app `turnout api` serves (through httpx's ASGITransport: no sockets; the
    server's threads count in this process's CPU, PostgreSQL's own CPU does not). On a shared machine the
    least is the figure other processes disturb least."""
    from service.web.app import create_app

    app = create_app()

    async def run() -> dict[str, tuple[float, float]]:
        batches: dict[str, list[float]] = {name: [] for name in ENDPOINTS}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            for name in ENDPOINTS:  # warm up: imports, compiled statements, the pool's connections
                for path in targets[name][-3:]:
                    assert (await client.get(path)).status_code == 200, path
            for start in range(0, n, 10):  # endpoints in turn, so a busy moment hits all of them alike
                for name in ENDPOINTS:
                    paths = targets[name]
                    cpu = time.process_time()
                    for i in range(start, start + 10):
                        assert (await client.get(paths[i % len(paths)])).status_code == 200, paths[i % len(paths)]
                    batches[name].append((time.process_time() - cpu) * 1000 / 10)
        return {name: (statistics.median(values), min(values)) for name, values in batches.items()}

    return asyncio.run(run())


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def _explain(url: str, call: Callable[[], object], *, top: int = 3) -> None:
    """Run *call* once in this process, then print EXPLAIN ANALYZE of its slowest statements."""
    from service.storage.db import get_engine

    engine = get_engine()
    statements: list[tuple[float, str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        conn.info["started"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((time.perf_counter() - conn.info["started"], statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    print(f"  {len(statements)} statements, {sum(s[0] for s in statements) * 1000:.1f} ms in the database driver")
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        for seconds, statement, parameters in sorted(statements, key=lambda s: -s[0])[:top]:
            print(f"\n  -- {seconds * 1000:.2f} ms:\n  {statement.strip()}")
            plan = raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).fetchall()
            print("\n".join("    " + line for (line,) in plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a database seeded before (default: seed a new one)")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="server processes (`turnout api --workers N`)")
    parser.add_argument("--cpu-requests", type=int, default=100, help="requests per endpoint for the CPU figures")
    args = parser.parse_args()
    url = seeded(args.database_url)
    port = _free_port()
    token = _token(url)
    targets = _targets(url)
    env = {**os.environ, "TURNOUT_DATABASE_URL": url, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    server = subprocess.Popen([sys.executable, "-m", "service.cli.main", "api", "--port", str(port),
                               "--workers", str(args.workers)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        for name in ENDPOINTS:  # warm up: first requests import and compile what the others reuse
            for path in targets[name][:5]:
                assert httpx.get(base + path, headers=headers, timeout=30).status_code == 200, path
        print(f"load average (1, 5, 15 min) before the load: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
        receive, send = multiprocessing.get_context("spawn").Pipe(duplex=False)
        load = multiprocessing.get_context("spawn").Process(
            target=_load, args=(base, token, targets, args.rate, args.duration, send))
        load.start()
        results: dict[str, list[float]] = receive.recv()
        load.join()
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:  # still answering the backlog: it is done with all the same
            server.kill()
            server.wait()
    failures = dict(zip(ENDPOINTS, results.pop("_failures"), strict=True))
    print(f"\nopen loop, {args.rate:g} requests/s for {args.duration:g} s (`turnout api --workers {args.workers}`); "
          "ms from each request's scheduled start")
    print(f"{'endpoint':<16}{'n':>6}{'p50':>9}{'p95':>9}{'p99':>9}{'mean':>9}{'non-200':>9}")
    for name in ENDPOINTS:
        values = results[name]
        print(f"{name:<16}{len(values):>6}{_percentile(values, 50):>9.1f}{_percentile(values, 95):>9.1f}"
              f"{_percentile(values, 99):>9.1f}{statistics.fmean(values):>9.1f}{int(failures[name]):>9}")
    everything = [value for values in results.values() for value in values]
    print(f"{'all':<16}{len(everything):>6}{_percentile(everything, 50):>9.1f}{_percentile(everything, 95):>9.1f}"
          f"{_percentile(everything, 99):>9.1f}{statistics.fmean(everything):>9.1f}")
    cpu = _cpu_per_request(token, targets, args.cpu_requests)
    print(f"\nCPU ms per request in this process, {args.cpu_requests} requests per endpoint one at a time, "
          "over batches of 10 (the server's share)")
    print(f"{'endpoint':<16}{'median':>9}{'least':>9}")
    for name in ENDPOINTS:
        print(f"{name:<16}{cpu[name][0]:>9.2f}{cpu[name][1]:>9.2f}")
    print(f"load average (1, 5, 15 min) now: {', '.join(f'{value:.2f}' for value in os.getloadavg())}")
    slowest = max(ENDPOINTS, key=lambda name: _percentile(results[name], 95))
    print(f"\nslowest at p95: {slowest}; its statements, slowest first:")
    _explain(url, _call(slowest, targets[slowest][0]))
    if args.database_url is None and not args.keep:
        drop_database(url)
    elif args.keep:
        print(f"\nkept {url}")


def _call(name: str, path: str) -> Callable[[], object]:
    from service.storage import listing
    from service.storage.db import session_scope
    from service.storage.series import metric_series

    def call() -> object:
        with session_scope() as session:
            if name == "run list":
                return listing.cycle_page(session, watch=path.split("watch=")[1].split("&")[0], limit=50)
            if name == "run detail":
                return listing.run_results_page(session, run_id=int(path.split("/runs/")[1].split("?")[0]), limit=50)
            watch = path.split("/watches/")[1].split("/")[0]
            return metric_series(session, watch, model=path.split("model=")[1])

    return call


if __name__ == "__main__":
    main()
