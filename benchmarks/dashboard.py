"""The dashboard's server time on a large database: overview, watch page and run page, p50 and p95.

Target: p95 <= 300 ms for each, on the 1,000,000-completion database `benchmarks/seed.py` makes.
Each page is requested in-process through the ASGI app (no socket, no browser: what is timed is the
server's work: queries, analysis reads, rendering), after two warm-up requests. Run by hand:

    python benchmarks/seed.py --database-url postgresql://postgres@127.0.0.1:5432/turnout_bench
    python benchmarks/dashboard.py --database-url postgresql://postgres@127.0.0.1:5432/turnout_bench

It prints one line per page and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

TARGET_P95_MS = 300.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("TURNOUT_DATABASE_URL"),
                        help="a database seeded by benchmarks/seed.py (default: TURNOUT_DATABASE_URL)")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("give --database-url (a database seeded by benchmarks/seed.py)")
    os.environ["TURNOUT_DATABASE_URL"] = args.database_url

    from fastapi.testclient import TestClient
    from sqlalchemy import func
    from sqlmodel import select

    from service.storage import access, listing
    from service.storage.db import session_scope
    from service.storage.tables import CompletionRow
    from service.web.app import create_app

    with session_scope() as session:
        completions = session.exec(select(func.count()).select_from(CompletionRow)).one()
        watches = listing.watches(session).watches
        if not watches:
            raise SystemExit("the database has no watch: seed it with benchmarks/seed.py first")
        watch = watches[0].name
        cycles = listing.cycle_page(session, limit=1, watch=watch, state="finished").cycles
        if not cycles:
            raise SystemExit(f"watch '{watch}' has no finished cycle: seed it with benchmarks/seed.py first")
        run_id = max(cycles[0].runs, key=lambda run: run.role != "production").run_id
        token = access.create_token(session, role="viewer", name=f"bench-{time.time_ns()}").token
    print(f"{completions:,} completions; watch '{watch}', cycle {cycles[0].cycle_id}, run {run_id}; "
          f"{args.requests} requests per page")
    pages = {"overview": "/", "watch page": f"/watches/{watch}", "run page": f"/runs/{run_id}"}
    with TestClient(create_app()) as client:
        assert client.post("/login", data={"token": token}, follow_redirects=False).status_code == 303
        for name, path in pages.items():
            timings = []
            for i in range(args.requests + 2):
                start = time.perf_counter()
                answer = client.get(path)
                elapsed = (time.perf_counter() - start) * 1000
                if answer.status_code != 200:
                    raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:300]}")
                if i >= 2:
                    timings.append(elapsed)
            p95 = _percentile(timings, 95)
            verdict = "ok" if p95 <= TARGET_P95_MS else f"MISSED (target {TARGET_P95_MS:.0f} ms)"
            print(f"{name:12} {path:40} p50 {statistics.median(timings):7.1f} ms  p95 {p95:7.1f} ms  {verdict}")


if __name__ == "__main__":
    main()
