"""run latency percentiles, stored by the analysis step

Revision ID: e7d6e1333945
Revises: e7c27046320d
Create Date: 2026-12-01 20:30:00.000000
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e7d6e1333945'
down_revision: str | None = 'e7c27046320d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('run') as batch_op:
        batch_op.add_column(sa.Column('latency_p50_ms', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('latency_p95_ms', sa.Float(), nullable=True))
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table('run') as batch_op:
        batch_op.drop_column('latency_p95_ms')
        batch_op.drop_column('latency_p50_ms')


def _backfill() -> None:
    """Runs stored before this revision get the percentiles their readers used to compute."""
    connection = op.get_bind()
    latencies: dict[int, list[float]] = defaultdict(list)
    for run_id, latency in connection.execute(sa.text(
            "SELECT run_id, latency_ms FROM completion WHERE latency_ms IS NOT NULL")):
        latencies[run_id].append(float(latency))
    update = sa.text("UPDATE run SET latency_p50_ms = :p50, latency_p95_ms = :p95 WHERE id = :id")
    for run_id, values in latencies.items():
        connection.execute(update, {"id": run_id, "p50": _percentile(values, 50), "p95": _percentile(values, 95)})


def _percentile(values: list[float], q: float) -> float:
    # As evals.metrics.percentile when this revision was written (linear interpolation).
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
