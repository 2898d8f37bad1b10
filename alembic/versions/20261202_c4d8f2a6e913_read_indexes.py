"""indexes of the read API: a watch's cycles newest first, a model's runs by cycle

Revision ID: c4d8f2a6e913
Revises: b7c3e9a14d20
Create Date: 2026-12-02 01:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = 'c4d8f2a6e913'
down_revision: str | None = 'b7c3e9a14d20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # `/cycles?watch=` pages newest first: without it, every cycle of the watch is read and sorted.
    op.create_index('ix_cycle_watch_id_id', 'cycle', ['watch_id', 'id'], unique=False)
    # `/watches/{name}/metrics?model=`: a model's runs, by cycle.
    op.create_index('ix_run_model_id_cycle_id', 'run', ['model_id', 'cycle_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_run_model_id_cycle_id', table_name='run')
    op.drop_index('ix_cycle_watch_id_id', table_name='cycle')
