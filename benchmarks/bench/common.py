"""Paths, constants and `Row`, shared by every part of the benchmark."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
"""benchmarks/"""
ROOT = HERE.parent
REPLAY = HERE / "replay.py"
"""The entry point, also run as the `_sdk` and `_engine` child processes."""
PYTHON = sys.executable
TURNOUT = str(Path(PYTHON).with_name("turnout"))
PROMPTFOO_DIR = HERE / ".promptfoo"
PROMPTFOO_VERSION = "0.121.20"
MODEL = "bench-model"
MAX_TOKENS = 32
PG_DATABASE = "turnout_bench"
TARGET_CEILING = 0.90
TARGET_PROMPTFOO = 2.0
PEER_CHECK_CONCURRENCY = (64, 256)
REPEAT_FROM_IDEAL = 100
"""Runs at C = 4 (40 items/s at best) take 30-45 s and vary by 2 %; faster ones are repeated."""


@dataclass
class Row:
    """One measured command."""

    client: str
    concurrency: int
    n: int
    items_per_s: float | None
    wall_s: float
    cpu_ms_per_item: float
    errors: int = 0
    peer_cpu_ms_per_item: float | None = None
    other_cores: float | None = None
    """CPU that neither the client nor the peer used during the command, in cores: other processes
    (PostgreSQL's server, for turnout/postgres), or someone else's load that makes the row suspect."""
    extra: dict[str, Any] = field(default_factory=dict)
