"""A smoke run of benchmarks/replay.py: it runs end to end and reports every figure (never timed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("TURNOUT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.mark.postgres
def test_quick_run_prints_and_writes_every_figure(tmp_path: Path) -> None:
    # Given the harness in its smoke mode, on SQLite and on a scratch PostgreSQL database of its own
    out = tmp_path / "replay.json"
    argv = [sys.executable, str(ROOT / "benchmarks" / "replay.py"), "--quick", "--no-promptfoo",
            "--out", str(out), "--postgres-url", POSTGRES_URL,
            "--postgres-database", f"turnout_bench_smoke_{uuid.uuid4().hex[:8]}"]

    # When it runs
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)

    # Then it succeeds, prints the table with its targets and writes the same figures as JSON
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| client | C | items/s |" in done.stdout
    assert "items/s >= 90% of SDK" in done.stdout
    result = json.loads(out.read_text())
    clients = {(row["client"], row["concurrency"]) for row in result["rows"]}
    c = result["concurrency"][0]
    assert {("sdk", c), ("sdk (aiohttp)", c), ("turnout/sqlite", c), ("turnout/postgres", c)} <= clients
    for row in result["rows"]:
        assert row["items_per_s"] > 0, row
        assert row["errors"] == 0, row
        if row["client"] != "peer (raw HTTP client)":
            assert row["cpu_ms_per_item"] > 0, row
            assert row["wall_s"] > 0, row
    targets = {(t["target"], t["client"]) for t in result["targets"]}
    assert ("items/s >= 90% of SDK", "turnout/sqlite") in targets
    assert ("items/s >= 90% of SDK", "turnout/postgres") in targets
