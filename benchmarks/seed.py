"""Seed a throwaway PostgreSQL database with years of stored cycles, for the API and dashboard benchmarks.

The catalog (golden sets, models, watches) goes through `turnout apply`'s own code; the history —
daily cycles, runs, completions, scores, run metrics, recommendations and drift checks — is written
straight with COPY, in the shapes the pipeline stores. Run alone to seed and keep a database:
`python benchmarks/seed.py` prints its URL (drop it with `--drop URL`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from evals.cases import sha256_hex
from evals.config import load_config
from evals.recipe import Recipe, StoredWatch

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TAGS = ("lang:en", "lang:fr", "doc:long")
SCORER = "contains"


@dataclass(frozen=True)
class Shape:
    """How much history to seed."""

    watches: int = 20
    days: int = 730
    cases: int = 35
    """Cases per golden set: 20 watches x 730 cycles x 2 models x 35 cases = 1,022,000 completions."""
    candidates: int = 1

    @property
    def completions(self) -> int:
        return self.watches * self.days * (1 + self.candidates) * self.cases


def create_database(admin_url: str = ADMIN_URL, *, prefix: str = "turnout_bench") -> str:
    """A new empty database; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str, admin_url: str = ADMIN_URL) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seeded(url: str | None) -> str:
    """*url*, or a new database seeded with the default shape (its URL and counts printed)."""
    if url is not None:
        return url
    url = create_database()
    started = time.perf_counter()
    counts = seed(url, Shape())
    print(f"seeded {url} in {time.perf_counter() - started:.0f} s: {counts}")
    return url


def _config(shape: Shape, root: Path) -> Path:
    models, watches, sets = [], [], []
    for w in range(shape.watches):
        cases = [{"id": f"case-{i:03d}", "input": f"Watch {w}, question {i}?", "expected": f"Answer {i}",
                  "tags": [TAGS[i % len(TAGS)]]} for i in range(shape.cases)]
        (root / f"set{w}.jsonl").write_text("".join(json.dumps(case) + "\n" for case in cases))
        sets.append({"name": f"set-{w}", "file": f"set{w}.jsonl", "privacy": "internal"})
        names = [f"prod-{w}"] + [f"cand-{w}-{c}" for c in range(shape.candidates)]
        for name in names:
            models.append({"name": name, "base_url": "http://127.0.0.1:9/v1", "model": name, "hosting": "api",
                           "params": {"temperature": 0},
                           "pricing": {"input_per_mtok": 2.5, "output_per_mtok": 10.0}})
        watches.append({"name": f"watch-{w:02d}", "golden_set": f"set-{w}", "production": names[0],
                        "candidates": names[1:], "scorers": [{"name": SCORER, "primary": True}],
                        "schedule": "0 6 * * *"})
    path = root / "turnout.yaml"
    path.write_text(json.dumps({"golden_sets": sets, "models": models, "watches": watches}))
    return path


def _copy(connection: psycopg.Connection[Any], table: str, columns: tuple[str, ...],
          rows: Iterator[tuple[Any, ...]]) -> int:
    n = 0
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def seed(url: str, shape: Shape = Shape(), *, seed: int = 0) -> dict[str, int]:
    """Migrate the database at *url* and fill it; returns row counts by table."""
    from service.settings import get_settings
    from service.storage import catalog, migrate
    from service.storage.db import get_engine, session_scope

    migrate.upgrade(url)
    os.environ["TURNOUT_DATABASE_URL"] = url
    get_settings.cache_clear()
    get_engine.cache_clear()
    with tempfile.TemporaryDirectory() as tmp, session_scope() as session:
        catalog.apply_config(session, config=load_config(_config(shape, Path(tmp))))
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        watches = connection.execute(sa.text("SELECT id, name, golden_set_id, spec FROM watch ORDER BY id")).all()
        models = {name: (row_id, spec) for row_id, name, spec in
                  connection.execute(sa.text("SELECT id, name, spec FROM model")).all()}
        sets = {row_id: (version, name) for row_id, version, name in
                connection.execute(sa.text("SELECT id, current_version_id, name FROM golden_set")).all()}
        versions = {row_id: content_hash for row_id, content_hash in
                    connection.execute(sa.text("SELECT id, content_hash FROM golden_set_version")).all()}
        cases: dict[int, list[tuple[int, str, list[str]]]] = {}
        for row_id, version_id, content_hash, tags in connection.execute(sa.text(
                "SELECT id, version_id, content_hash, tags FROM golden_case ORDER BY position")).all():
            cases.setdefault(version_id, []).append((row_id, content_hash, tags))
    engine.dispose()
    rng = random.Random(seed)
    start = datetime(2024, 12, 1, 6, tzinfo=UTC)
    primary_hash = sha256_hex(SCORER)
    cycles, runs_, metrics, recommendations, drift = [], [], [], [], []
    completions: list[tuple[Any, ...]] = []
    cycle_id = run_id = completion_id = 0
    counts: dict[str, int] = {}
    connection = psycopg.connect(url)

    def flush_completions() -> None:
        counts["completion"] = counts.get("completion", 0) + _copy(connection, "completion", (
            "id", "run_id", "golden_case_id", "repetition", "output", "error", "error_kind", "attempts", "retried",
            "latency_ms", "ttft_ms", "input_tokens", "output_tokens", "tokens_estimated", "finish_reason",
            "fingerprint", "served_model", "cost_usd", "created_at"), iter(completions))
        counts["score"] = counts.get("score", 0) + _copy(connection, "score", (
            "id", "completion_id", "scorer_hash", "scorer_key", "scorer_name", "scorer_version", "options", "value",
            "explanation", "error", "details", "retryable", "created_at"),
            ((row[0], row[0], primary_hash, SCORER, SCORER, "1", "{}", 1.0 if row[4] == "right" else 0.0,
              "matched" if row[4] == "right" else "no match", None, "{}", False, row[-1]) for row in completions))
        completions.clear()

    for watch_id, watch_name, golden_set_id, spec in watches:
        version_id, set_name = sets[golden_set_id]
        recipe = Recipe(watch=StoredWatch.model_validate(spec), golden_set=set_name,
                        content_hash=versions[version_id]).model_dump(mode="json")
        names = [spec["production"], *spec["candidates"]]
        quality = {name: 0.85 + 0.1 * rng.random() for name in names}
        for day in range(shape.days):
            cycle_id += 1
            made = start + timedelta(days=day)
            finished = made + timedelta(minutes=3)
            cycles.append((cycle_id, watch_id, version_id, "schedule", "finished", made, json.dumps(recipe), "done",
                           0, 0.05, 0.0, primary_hash, made, made + timedelta(seconds=1), finished))
            for position, name in enumerate(names):
                run_id += 1
                model_id, model_spec = models[name]
                right = 0
                latencies = []
                for case_id, _, _ in cases[version_id]:
                    completion_id += 1
                    ok = rng.random() < quality[name]
                    right += ok
                    latency = rng.lognormvariate(6.0, 0.4)
                    latencies.append(latency)
                    completions.append((completion_id, run_id, case_id, 0, "right" if ok else "wrong", None, None, 1,
                                        "[]", latency, latency * 0.3, 120, 40, False, "stop", "fp_1", name, 0.0008,
                                        finished))
                latencies.sort()
                n = len(latencies)
                mean = right / n
                runs_.append((run_id, cycle_id, model_id, "production" if position == 0 else "candidate", "finished",
                              json.dumps(model_spec), 1, n, n, 0, 120 * n, 40 * n, 0.0008 * n,
                              latencies[n // 2], latencies[int(n * 0.95)], latencies[int(n * 0.95)] * 0.3,
                              0, made, made + timedelta(seconds=1), finished))
                for segment in ("", *TAGS):
                    metrics.append((run_id, primary_hash, SCORER, segment, mean, max(0.0, mean - 0.1),
                                    min(1.0, mean + 0.1), n if not segment else n // len(TAGS), None, "wilson",
                                    finished))
                drift.append((watch_id, cycle_id, model_id, run_id, "stable", "[]",
                              json.dumps([run_id - len(names)] if day else []), 0.0, -0.05, 0.05, 0.0, 0.0, False,
                              None, "[]", None, json.dumps({"verdict": "stable", "reasons": []}), finished))
            document = {"watch": watch_name, "cycle_id": cycle_id, "verdict": "stay", "to": None}
            recommendations.append((watch_id, cycle_id, "stay", None, "stay", None, day + 1, day == 0,
                                    json.dumps(document), json.dumps({"scorer": SCORER}), finished, finished))
            if len(completions) >= 100_000:  # parents first: the completions' foreign keys point at them
                _flush_parents(connection, counts, cycles, runs_)
                flush_completions()
    _flush_parents(connection, counts, cycles, runs_)
    flush_completions()
    counts["run_metric"] = _copy(connection, "run_metric", (
        "run_id", "scorer_hash", "scorer_key", "segment", "mean", "ci_low", "ci_high", "n", "n_clusters", "method",
        "created_at"), iter(metrics))
    counts["drift"] = _copy(connection, "drift", (
        "watch_id", "cycle_id", "model_id", "run_id", "verdict", "reasons", "reference_run_ids", "score_change",
        "ci_low", "ci_high", "output_change_rate", "expected_change_rate", "fingerprint_changed", "drift_share",
        "drifted_columns", "report_key", "document", "created_at"), iter(drift))
    counts["recommendation"] = _copy(connection, "recommendation", (
        "watch_id", "cycle_id", "cycle_verdict", "cycle_to", "verdict", "\"to\"", "consecutive", "changed",
        "document", "inputs", "created_at", "updated_at"), iter(recommendations))
    for table in ("cycle", "run", "completion", "score"):
        connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    connection.commit()
    connection.autocommit = True
    connection.execute("VACUUM ANALYZE")
    connection.close()
    return counts


def _flush_parents(connection: psycopg.Connection[Any], counts: dict[str, int], cycles: list[tuple[Any, ...]],
                   runs_: list[tuple[Any, ...]]) -> None:
    counts["cycle"] = counts.get("cycle", 0) + _copy(connection, "cycle", (
        "id", "watch_id", "golden_set_version_id", "trigger", "state", "scheduled_for", "recipe", "step",
        "step_failures", "cost_usd", "judge_cost_usd", "primary_scorer_hash", "created_at", "started_at",
        "finished_at"), iter(cycles))
    counts["run"] = counts.get("run", 0) + _copy(connection, "run", (
        "id", "cycle_id", "model_id", "role", "state", "model_spec", "repeat", "n_total", "n_done", "n_errors",
        "input_tokens", "output_tokens", "cost_usd", "latency_p50_ms", "latency_p95_ms", "ttft_p95_ms",
        "enqueue_count", "created_at", "started_at", "finished_at"), iter(runs_))
    cycles.clear()
    runs_.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--drop", metavar="URL", help="drop a database seeded earlier")
    parser.add_argument("--days", type=int, default=Shape.days)
    args = parser.parse_args()
    if args.drop:
        drop_database(args.drop)
        return
    url = create_database()
    started = time.perf_counter()
    counts = seed(url, Shape(days=args.days))
    print(f"seeded {url} in {time.perf_counter() - started:.0f} s: {counts}")


if __name__ == "__main__":
    main()
