"""A smoke run of benchmarks/drift.py on small sizes: it runs end to end and prints every figure (never timed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_run_prints_every_figure() -> None:
    argv = [sys.executable, str(ROOT / "benchmarks" / "drift.py"), "--cases", "300", "--permutations", "200",
            "--rates", "2"]

    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.count("MMD probe, 20 prompts x 10 samples") == 2 and "200 permutations" in out
    assert "Evidently import (excluded from the target)" in out
    for part in ("paired score change", "output change rate", "Evidently report", "verdict (all signals)"):
        assert part in out, out
    assert "drift step, 300 current x 300 reference cases:" in out and "target 5 s" in out
    # the probe's rates: two probe sizes x one and three reference runs, at the default level and at 0.01
    assert out.count("MMD probe rates, ") == 8 and "2 repetitions: false alarms " in out
