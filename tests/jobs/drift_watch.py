"""A drift watch declared in a real turnout.yaml against the OpenAI peer, and whole cycles of it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from evals.config import load_config
from jobs import pipeline
from service.storage import catalog, drift
from service.storage.db import session_scope


def declare_watch(directory: Path, *, config: str, cases: list[dict[str, Any]]) -> Path:
    """Write *cases* as `cases.jsonl` and *config* as `turnout.yaml` in *directory*, and apply it."""
    (directory / "cases.jsonl").write_text("".join(json.dumps(case) + "\n" for case in cases))
    path = directory / "turnout.yaml"
    path.write_text(config)
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(path))
    return path


def drift_cycle(watch: str) -> tuple[int, dict[str, Any]]:
    """Run one whole cycle of *watch* inline (replay, probe, scoring, analysis); return its id and the
    drift document of its first model."""
    cycle_id = pipeline.start_cycle(watch=watch, trigger="cli")
    assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
    with session_scope() as session:
        _, rows = drift.drift_rows(session, watch_name=watch, cycle_id=cycle_id)
        return cycle_id, rows[0][1].document
