"""Replay throughput: Turnout against the bare `openai` SDK ceiling and against promptfoo.

    .venv/bin/python benchmarks/replay.py --profile   # the full run (1,000 cases; about 9 minutes)
    .venv/bin/python benchmarks/replay.py --quick --no-promptfoo   # a smoke run (about 20 s)

Every client talks to `benchmarks/peer_server.py` (the test suite's OpenAI peer, in a process of its
own, fixed latency before the first byte), one after the other, at concurrency C. Each measured
client runs as a child process, so its CPU time is its own rusage (start-up included):

- `sdk`, `sdk (aiohttp)`: `AsyncOpenAI(max_retries=0)` over the SDK's default httpx2 transport and
  over its aiohttp one (Turnout's), with a semaphore of C, streaming with usage, temperature 0,
  max_tokens, warmed up by one request: the most a Python client using the SDK's objects does here.
  The faster of the two at each C is the ceiling the 90 % target is read against;
- `turnout/sqlite`, `turnout/postgres`: the whole `turnout run WATCH --json` (replay, scoring,
  storage, analysis) with the model's `max_concurrency: C`;
- `promptfoo`: `promptfoo eval -j C --no-cache` on the same cases, and once with its default `-j`.

items/s counts from the first request the peer receives to the last stored result (Turnout: the
last completion's `created_at`; the SDK: its last answer read; promptfoo: the last answer the
peer sent). Wall time is the whole command. Figures go to stdout as a table and to
benchmarks/results/replay.json (`--out`). This is a measurement, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the `bench` package beside this file, however it is run
from bench.cases import make_cases, promptfoo_config, turnout_yaml  # noqa: E402
from bench.clients import (  # noqa: E402
    SDK_TRANSPORTS,
    engine_loop,
    install_promptfoo,
    measure_engine,
    measure_promptfoo,
    measure_sdk,
    measure_turnout,
    prepare_turnout,
    scratch_postgres,
    sdk_loop,
)
from bench.common import HERE, PEER_CHECK_CONCURRENCY, PG_DATABASE, PROMPTFOO_VERSION, REPEAT_FROM_IDEAL, ROOT, Row  # noqa: E402
from bench.peer import Peer, peer_ceiling  # noqa: E402
from bench.profiling import summarize_profile  # noqa: E402
from bench.report import progress, render, verdicts  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Replay throughput against the SDK ceiling and promptfoo.")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 32 cases at C = 16")
    parser.add_argument("--cases", type=int, help="golden-set size (default 1000; 32 with --quick)")
    parser.add_argument("--concurrency", type=int, nargs="+", help="C values (default 4 16 64)")
    parser.add_argument("--latency-s", type=float, default=0.1, help="the peer's fixed latency")
    parser.add_argument("--no-promptfoo", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=2,
                        help=f"runs of each client at a C whose ideal is at least {REPEAT_FROM_IDEAL} items/s, "
                             "keeping the fastest (default %(default)s; 1 with --quick)")
    parser.add_argument("--no-engine", action="store_true",
                        help="skip the row of Turnout's replay engine alone (in-process, nothing stored)")
    parser.add_argument("--postgres-url", default=os.environ.get("TURNOUT_BENCH_POSTGRES_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="the PostgreSQL server, as a URL of a database there that may be connected to")
    parser.add_argument("--postgres-database", default=PG_DATABASE,
                        help="the scratch database made and dropped there (default %(default)s)")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, run `turnout run` at the largest C on SQLite under py-spy")
    parser.add_argument("--out", type=Path, help="JSON output (default benchmarks/results/replay.json; "
                                                 "replay-quick.json with --quick)")
    args = parser.parse_args(argv)
    n = args.cases or (32 if args.quick else 1000)
    if args.quick:
        args.repeat = 1
    concurrencies = args.concurrency or ([16] if args.quick else [4, 16, 64])
    out_path = args.out or HERE / "results" / ("replay-quick.json" if args.quick else "replay.json")
    binary = None if args.no_promptfoo else install_promptfoo()

    cases = make_cases(n)
    rows: list[Row] = []
    load_before = os.getloadavg()
    started = time.monotonic()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="turnout-bench-")))
        cases_file = workdir / "cases.jsonl"
        cases_file.write_text("".join(json.dumps(c) + "\n" for c in cases))
        peer = Peer(args.latency_s)
        try:
            (workdir / "turnout.yaml").write_text(turnout_yaml(peer.base_url, concurrencies))
            (workdir / "promptfooconfig.json").write_text(json.dumps(promptfoo_config(peer.base_url, cases)))
            for c in PEER_CHECK_CONCURRENCY:  # what the peer serves at C = 64, and its capacity
                rows.append(peer_ceiling(peer, cases, c, c * (10 if args.quick else 50 if c <= 64 else 25)))
                progress(rows[-1])
            databases = {"turnout/sqlite": f"sqlite:///{workdir / 'bench.db'}"}
            if not args.no_postgres:
                databases["turnout/postgres"] = stack.enter_context(
                    scratch_postgres(args.postgres_url, args.postgres_database))
            for url in databases.values():
                prepare_turnout(workdir, url)
            # Per C, every client one after the other: figures compared with each other are taken
            # close in time, should anything else on the machine come and go.
            for c in concurrencies:
                measures: list[Callable[[], Row | None]] = [partial(measure_sdk, peer, cases_file, n, c, transport)
                                                             for transport in SDK_TRANSPORTS]
                repeat = args.repeat if c / args.latency_s >= REPEAT_FROM_IDEAL else 1
                if not args.no_engine and (repeat > 1 or args.quick):  # latency-bound C tell it nothing
                    measures.append(partial(measure_engine, peer, cases_file, n, c))
                measures += [partial(measure_turnout, peer, workdir, url, label, n, c)
                             for label, url in databases.items()]
                if binary is not None:
                    measures.append(partial(measure_promptfoo, peer, workdir, binary, n, c))
                rows += best_of(measures, repeat)
            if binary is not None:
                rows += best_of([partial(measure_promptfoo, peer, workdir, binary, n, None)], 1)
            profile_to = None
            if args.profile:
                profile_to = out_path.with_name("replay-profile.txt")
                measure_turnout(peer, workdir, databases["turnout/sqlite"], "turnout/sqlite", n,
                                max(concurrencies), profile_to=profile_to)
        finally:
            peer.close()
    for row in rows:
        row.extra.setdefault("ideal", round(row.concurrency / args.latency_s))
    checks = verdicts(rows, concurrencies, args.latency_s)
    table = render(rows, checks, concurrencies)
    print(f"\n{n} cases, peer latency {args.latency_s * 1000:.0f} ms ({peer.server}), "
          f"{os.cpu_count()} CPUs, {time.monotonic() - started:.0f} s in all\n")
    print(table)
    if profile_to is not None:
        summary = summarize_profile(profile_to)
        profile_to.with_suffix(".summary.txt").write_text(summary + "\n")
        print(f"\nturnout run (SQLite, C={max(concurrencies)}) under py-spy; "
              f"collapsed stacks in {profile_to}\n{summary}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps({
        "command": ".venv/bin/python benchmarks/replay.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "cases": n, "latency_s": args.latency_s,
        "concurrency": concurrencies,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "peer_server": peer.server,
                    "load_average_before": load_before},
        "promptfoo": PROMPTFOO_VERSION if binary else None,
        "rows": [asdict(r) for r in rows], "targets": checks}, indent=2) + "\n")
    print(f"\nwritten: {out_path}")
    return 0


def best_of(measures: list[Callable[[], Row | None]], repeat: int) -> list[Row]:
    """Each measurement *repeat* times, in turns, keeping each one's fastest: another process on
    the machine can only slow a run down, so the fastest is the least disturbed."""
    runs: list[list[Row]] = [[] for _ in measures]
    for _ in range(repeat):
        for measure, kept in zip(measures, runs, strict=True):
            if (row := measure()) is not None:
                progress(row)
                kept.append(row)
    best = []
    for kept in runs:
        if kept:
            row = max(kept, key=lambda r: r.items_per_s or 0.0)
            row.extra["items_per_s_runs"] = [round(r.items_per_s or 0.0, 1) for r in kept]
            best.append(row)
    return best


if __name__ == "__main__":
    if len(sys.argv) in (5, 6) and sys.argv[1] in ("_sdk", "_engine"):
        sys.path.insert(0, str(ROOT))
        loop = sdk_loop if sys.argv[1] == "_sdk" else engine_loop
        print(json.dumps(asyncio.run(loop(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), *sys.argv[5:]))))
    else:
        sys.exit(main())
