"""judge cost of a cycle, retryable scores

Revision ID: 5b1e0c7a9d42
Revises: 5d2c9a41b7e3
Create Date: 2026-12-01 22:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5b1e0c7a9d42'
down_revision: str | None = '5d2c9a41b7e3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows stored before this revision: no judge cost was counted, no score was known to be retryable.
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('judge_cost_usd', sa.Float(), nullable=False, server_default='0'))

    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retryable', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.drop_column('retryable')

    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.drop_column('judge_cost_usd')
