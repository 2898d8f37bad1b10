"""The dashboard's server time on a large database: overview, watch page and run page, p50 and p95.

Target: p95 <= 300 ms for each, on the 1,000,000-completion database `benchmarks/seed.py` makes
(20 watches x 730 daily cycles x 2 models x 35 cases). Each page is requested in-process through the
ASGI app (no socket, no browser: what is timed is the server's work: queries, reads of the stored
analysis, rendering), after two warm-up requests; the watch and run pages are taken from several
watches in turn. Each line also gives the SQL statements one request of the page sends, and the machine's
load average when the page was measured. Run by hand:

    python benchmarks/dashboard.py                      # seed, measure, drop the database
    python benchmarks/dashboard.py --keep               # keep the seeded database (its URL is printed)
    python benchmarks/dashboard.py --database-url URL   # measure a database seeded before
    python benchmarks/dashboard.py --profile            # and print where one request of each page spends
                                                        # its time (needs `pip install pyinstrument`)

It prints one line per page and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.seed import drop_database, seeded  # noqa: E402

TARGET_P95_MS = 300.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a database seeded before (default: seed a new one)")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--profile", action="store_true", help="profile one request of each page (pyinstrument)")
    args = parser.parse_args()
    url = seeded(args.database_url)
    os.environ["TURNOUT_DATABASE_URL"] = url
    try:
        measure(requests=args.requests, profile=args.profile)
    finally:
        if args.database_url is None and not args.keep:
            drop_database(url)


class StatementCounter:
    """SQL statements the engine sends, counted from the last `reset`."""

    def __init__(self) -> None:
        from service.storage.db import get_engine

        self.count = 0
        sa.event.listen(get_engine(), "before_cursor_execute", self._one)

    def _one(self, *_: object) -> None:
        self.count += 1

    def reset(self) -> None:
        self.count = 0


def measure(*, requests: int, profile: bool = False) -> None:
    """Time the three pages, *requests* times each, and print p50, p95 and statements per request."""

    from fastapi.testclient import TestClient
    from sqlalchemy import func
    from sqlmodel import select

    from service.storage import access, listing
    from service.storage.db import session_scope
    from service.storage.tables import CompletionRow
    from service.web.app import create_app

    with session_scope() as session:
        completions = session.exec(select(func.count()).select_from(CompletionRow)).one()
        watches = [w.name for w in listing.watches(session).watches][:5]
        if not watches:
            raise SystemExit("the database has no watch: seed it with benchmarks/seed.py first")
        run_ids = []
        for watch in watches:
            cycles = listing.cycle_page(session, limit=1, watch=watch, state="finished").cycles
            if cycles:
                run_ids.append(max(cycles[0].runs, key=lambda run: run.role != "production").run_id)
        if not run_ids:
            raise SystemExit("no watch has a finished cycle: seed the database with benchmarks/seed.py first")
        token = access.create_token(session, role="viewer", name=f"bench-{time.time_ns()}").token
    print(f"{completions:,} completions; {len(watches)} watches; {requests} requests per page")
    pages = {"overview": ["/"], "watch page": [f"/watches/{watch}" for watch in watches],
             "run page": [f"/runs/{run_id}" for run_id in run_ids]}
    statements = StatementCounter()
    with TestClient(create_app()) as client:
        assert client.post("/login", data={"token": token}, follow_redirects=False).status_code == 303
        for name, paths in pages.items():
            timings, counts = [], []
            for i in range(requests + 2):
                path = paths[i % len(paths)]
                statements.reset()
                start = time.perf_counter()
                answer = client.get(path)
                elapsed = (time.perf_counter() - start) * 1000
                if answer.status_code != 200:
                    raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:300]}")
                if i >= 2:
                    timings.append(elapsed)
                    counts.append(statements.count)
            p95 = _percentile(timings, 95)
            verdict = "ok" if p95 <= TARGET_P95_MS else f"MISSED (target {TARGET_P95_MS:.0f} ms)"
            load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
            print(f"{name:12} {paths[0]:28} p50 {statistics.median(timings):7.1f} ms  p95 {p95:7.1f} ms  "
                  f"{min(counts)}-{max(counts)} statements  load {load}  {verdict}", flush=True)
        if profile:
            _profile(watches[0], run_ids[0])


def _profile(watch: str, run_id: int) -> None:
    """pyinstrument's call tree of each page's handler, called in this thread (the ASGI app runs a sync
    handler in a worker thread, which a profiler of this thread would not see)."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise SystemExit("--profile needs pyinstrument: pip install pyinstrument") from None
    from starlette.requests import Request

    from service.storage.db import session_scope
    from service.web.auth import User
    from service.web.routes import runs, watches

    user = User(name="bench", role="viewer", token_id=0, csrf="")
    pages = {"/": lambda request, session: watches.overview(request, session, user),
             f"/watches/{watch}": lambda request, session: watches.watch_page(request, session, user, watch),
             f"/runs/{run_id}": lambda request, session: runs.run_page(request, session, user, run_id)}
    for path, handler in pages.items():
        request = Request({"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []})
        profiler = Profiler(interval=0.0005)
        with session_scope() as session:
            profiler.start()
            handler(request, session)
            profiler.stop()
        print(f"\n--- {path}\n" + profiler.output_text(unicode=False, color=False))


if __name__ == "__main__":
    main()
