"""alert outbox: one row per alert, one per delivery attempt

Revision ID: a1e7c0de5b16
Revises: 7d1f3a2b9e64
Create Date: 2026-12-01 23:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'a1e7c0de5b16'
down_revision: str | None = '7d1f3a2b9e64'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('watch_id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('dedup_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('route', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('slack_channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('slack_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('delivered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_alert_cycle_id_cycle')),
    sa.ForeignKeyConstraint(['parent_id'], ['alert.id'], name=op.f('fk_alert_parent_id_alert')),
    sa.ForeignKeyConstraint(['watch_id'], ['watch.id'], name=op.f('fk_alert_watch_id_watch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_alert_dedup_key'))
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_watch_id'), ['watch_id'], unique=False)
    op.create_table('alert_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('route', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('retry_after_s', sa.Float(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_alert_attempt_alert_id_alert')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_attempt'))
    )
    with op.batch_alter_table('alert_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_attempt_alert_id'), ['alert_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alert_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_attempt_alert_id'))
    op.drop_table('alert_attempt')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_watch_id'))
        batch_op.drop_index(batch_op.f('ix_alert_state'))
        batch_op.drop_index(batch_op.f('ix_alert_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_alert_cycle_id'))
    op.drop_table('alert')
