"""time-series columns: the cycle's primary scorer hash and each run's ttft p95, stored once

Revision ID: b7c3e9a14d20
Revises: 6eb3bdf90065
Create Date: 2026-12-02 01:00:00.000000
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'b7c3e9a14d20'
down_revision: str | None = '6eb3bdf90065'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cycle') as batch_op:
        batch_op.add_column(sa.Column('primary_scorer_hash', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
    with op.batch_alter_table('run') as batch_op:
        batch_op.add_column(sa.Column('ttft_p95_ms', sa.Float(), nullable=True))
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table('run') as batch_op:
        batch_op.drop_column('ttft_p95_ms')
    with op.batch_alter_table('cycle') as batch_op:
        batch_op.drop_column('primary_scorer_hash')


def _backfill() -> None:
    """Cycles and runs stored before this revision get what the analysis step now stores."""
    connection = op.get_bind()
    update_cycle = sa.text("UPDATE cycle SET primary_scorer_hash = :hash WHERE id = :id")
    for cycle_id, recipe in connection.execute(sa.text("SELECT id, recipe FROM cycle")):
        key = _primary_key(json.loads(recipe) if isinstance(recipe, str) else recipe)
        if key is not None:
            connection.execute(update_cycle, {"id": cycle_id, "hash": hashlib.sha256(key.encode()).hexdigest()})
    ttfts: dict[int, list[float]] = defaultdict(list)
    for run_id, ttft in connection.execute(sa.text(
            "SELECT run_id, ttft_ms FROM completion WHERE ttft_ms IS NOT NULL")):
        ttfts[run_id].append(float(ttft))
    update_run = sa.text("UPDATE run SET ttft_p95_ms = :p95 WHERE id = :id")
    for run_id, values in ttfts.items():
        connection.execute(update_run, {"id": run_id, "p95": _percentile(values, 95)})


def _primary_key(recipe: Any) -> str | None:
    # As evals.recipe.Recipe.primary and ScorerSpec.key when this revision was written.
    scorers = (recipe or {}).get("watch", {}).get("scorers") or []
    specs = [{"name": item} if isinstance(item, str) else item for item in scorers]
    if not specs:
        return None
    spec = next((item for item in specs if item.get("primary")), specs[0])
    options = spec.get("options") or {}
    if not options:
        return str(spec["name"])
    return f"{spec['name']}:{json.dumps(options, sort_keys=True, separators=(',', ':'), ensure_ascii=False)}"


def _percentile(values: list[float], q: float) -> float:
    # As evals.metrics.percentile when this revision was written (linear interpolation).
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
