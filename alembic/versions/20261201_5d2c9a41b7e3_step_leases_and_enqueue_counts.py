"""step leases, step failure counts and run enqueue counts

Revision ID: 5d2c9a41b7e3
Revises: 3f1a9c2b7d40
Create Date: 2026-12-01 21:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '5d2c9a41b7e3'
down_revision: str | None = '3f1a9c2b7d40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('step_lease_owner', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('step_lease_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('step_failures', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enqueue_count', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_column('enqueue_count')

    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.drop_column('step_lease_expires_at')
        batch_op.drop_column('step_lease_owner')
        batch_op.drop_column('step_failures')
