"""drift probe: sampled answers per run, and the two-sample test per cycle and model

Revision ID: 3f9b2c6d1e07
Revises: dada4143427d
Create Date: 2026-12-02 01:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '3f9b2c6d1e07'
down_revision: str | None = 'dada4143427d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('drift_probe_sample',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('golden_case_id', sa.Integer(), nullable=False),
    sa.Column('sample', sa.Integer(), nullable=False),
    sa.Column('temperature', sa.Float(), nullable=False),
    sa.Column('output', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('error_kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('input_tokens', sa.Integer(), nullable=True),
    sa.Column('output_tokens', sa.Integer(), nullable=True),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('cost_usd', sa.Float(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['golden_case_id'], ['golden_case.id'],
                            name=op.f('fk_drift_probe_sample_golden_case_id_golden_case')),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], name=op.f('fk_drift_probe_sample_run_id_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drift_probe_sample')),
    sa.UniqueConstraint('run_id', 'golden_case_id', 'sample',
                        name=op.f('uq_drift_probe_sample_run_id_golden_case_id_sample'))
    )
    with op.batch_alter_table('drift_probe_sample', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drift_probe_sample_golden_case_id'), ['golden_case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drift_probe_sample_run_id'), ['run_id'], unique=False)

    op.create_table('drift_probe_test',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('watch_id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('reference_run_ids', sa.JSON(), nullable=False),
    sa.Column('p_value', sa.Float(), nullable=False),
    sa.Column('statistic', sa.Float(), nullable=False),
    sa.Column('n_current', sa.Integer(), nullable=False),
    sa.Column('n_reference', sa.Integer(), nullable=False),
    sa.Column('n_prompts', sa.Integer(), nullable=False),
    sa.Column('permutations', sa.Integer(), nullable=False),
    sa.Column('temperature', sa.Float(), nullable=False),
    sa.Column('rejected', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_drift_probe_test_cycle_id_cycle')),
    sa.ForeignKeyConstraint(['model_id'], ['model.id'], name=op.f('fk_drift_probe_test_model_id_model')),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], name=op.f('fk_drift_probe_test_run_id_run')),
    sa.ForeignKeyConstraint(['watch_id'], ['watch.id'], name=op.f('fk_drift_probe_test_watch_id_watch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drift_probe_test')),
    sa.UniqueConstraint('cycle_id', 'model_id', name=op.f('uq_drift_probe_test_cycle_id_model_id'))
    )
    with op.batch_alter_table('drift_probe_test', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drift_probe_test_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drift_probe_test_model_id'), ['model_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drift_probe_test_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drift_probe_test_watch_id'), ['watch_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('drift_probe_test', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drift_probe_test_watch_id'))
        batch_op.drop_index(batch_op.f('ix_drift_probe_test_run_id'))
        batch_op.drop_index(batch_op.f('ix_drift_probe_test_model_id'))
        batch_op.drop_index(batch_op.f('ix_drift_probe_test_cycle_id'))
    op.drop_table('drift_probe_test')
    with op.batch_alter_table('drift_probe_sample', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drift_probe_sample_run_id'))
        batch_op.drop_index(batch_op.f('ix_drift_probe_sample_golden_case_id'))
    op.drop_table('drift_probe_sample')
