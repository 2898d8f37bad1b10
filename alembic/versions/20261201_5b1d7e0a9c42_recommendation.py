"""recommendation: the advisor's verdict per cycle, with its announcement

Revision ID: 5b1d7e0a9c42
Revises: 5b1e0c7a9d42
Create Date: 2026-12-01 22:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '5b1d7e0a9c42'
down_revision: str | None = '5b1e0c7a9d42'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('recommendation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('watch_id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('cycle_verdict', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('cycle_to', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('verdict', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('to', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('consecutive', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Boolean(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_recommendation_cycle_id_cycle')),
    sa.ForeignKeyConstraint(['watch_id'], ['watch.id'], name=op.f('fk_recommendation_watch_id_watch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendation')),
    sa.UniqueConstraint('cycle_id', name=op.f('uq_recommendation_cycle_id'))
    )
    with op.batch_alter_table('recommendation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recommendation_watch_id'), ['watch_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recommendation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recommendation_watch_id'))
    op.drop_table('recommendation')
