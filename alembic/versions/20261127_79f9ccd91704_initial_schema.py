"""initial schema

Revision ID: 79f9ccd91704
Revises: 
Create Date: 2026-11-27 10:42:21.393939
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '79f9ccd91704'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('golden_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('privacy', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_golden_set')),
    sa.UniqueConstraint('name', name=op.f('uq_golden_set_name'))
    )
    op.create_table('judge_cache',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_judge_cache'))
    )
    op.create_table('model',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('hosting', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('residency', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('spec_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model')),
    sa.UniqueConstraint('name', name=op.f('uq_model_name'))
    )
    op.create_table('golden_set_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('golden_set_id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('privacy', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('n_cases', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['golden_set_id'], ['golden_set.id'], name=op.f('fk_golden_set_version_golden_set_id_golden_set')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_golden_set_version')),
    sa.UniqueConstraint('golden_set_id', 'content_hash', name=op.f('uq_golden_set_version_golden_set_id_content_hash'))
    )
    with op.batch_alter_table('golden_set_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_golden_set_version_golden_set_id'), ['golden_set_id'], unique=False)

    op.create_table('watch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('golden_set_id', sa.Integer(), nullable=False),
    sa.Column('production_model_id', sa.Integer(), nullable=False),
    sa.Column('schedule', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('spec_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['golden_set_id'], ['golden_set.id'], name=op.f('fk_watch_golden_set_id_golden_set')),
    sa.ForeignKeyConstraint(['production_model_id'], ['model.id'], name=op.f('fk_watch_production_model_id_model')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watch')),
    sa.UniqueConstraint('name', name=op.f('uq_watch_name'))
    )
    with op.batch_alter_table('watch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watch_golden_set_id'), ['golden_set_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_production_model_id'), ['production_model_id'], unique=False)

    op.create_table('cycle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('watch_id', sa.Integer(), nullable=False),
    sa.Column('golden_set_version_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('scheduled_for', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('recipe', sa.JSON(), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('step_enqueued_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['golden_set_version_id'], ['golden_set_version.id'], name=op.f('fk_cycle_golden_set_version_id_golden_set_version')),
    sa.ForeignKeyConstraint(['watch_id'], ['watch.id'], name=op.f('fk_cycle_watch_id_watch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cycle')),
    sa.UniqueConstraint('watch_id', 'scheduled_for', name=op.f('uq_cycle_watch_id_scheduled_for'))
    )
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cycle_golden_set_version_id'), ['golden_set_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cycle_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_cycle_watch_id'), ['watch_id'], unique=False)

    op.create_table('golden_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('case_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['golden_set_version.id'], name=op.f('fk_golden_case_version_id_golden_set_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_golden_case')),
    sa.UniqueConstraint('version_id', 'case_key', name=op.f('uq_golden_case_version_id_case_key'))
    )
    with op.batch_alter_table('golden_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_golden_case_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_golden_case_version_id'), ['version_id'], unique=False)

    op.create_table('run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('model_spec', sa.JSON(), nullable=False),
    sa.Column('repeat', sa.Integer(), nullable=False),
    sa.Column('n_total', sa.Integer(), nullable=False),
    sa.Column('n_done', sa.Integer(), nullable=False),
    sa.Column('n_errors', sa.Integer(), nullable=False),
    sa.Column('input_tokens', sa.Integer(), nullable=False),
    sa.Column('output_tokens', sa.Integer(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('heartbeat_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('enqueued_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('lease_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_run_cycle_id_cycle')),
    sa.ForeignKeyConstraint(['model_id'], ['model.id'], name=op.f('fk_run_model_id_model')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run')),
    sa.UniqueConstraint('cycle_id', 'model_id', name=op.f('uq_run_cycle_id_model_id'))
    )
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_run_model_id'), ['model_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_run_state'), ['state'], unique=False)

    op.create_table('comparison',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_a_id', sa.Integer(), nullable=False),
    sa.Column('run_b_id', sa.Integer(), nullable=False),
    sa.Column('scorer_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scorer_key', sa.Text(), nullable=False),
    sa.Column('margin', sa.Float(), nullable=False),
    sa.Column('n_pairs', sa.Integer(), nullable=False),
    sa.Column('difference', sa.Float(), nullable=True),
    sa.Column('ci_low', sa.Float(), nullable=True),
    sa.Column('ci_high', sa.Float(), nullable=True),
    sa.Column('p_value', sa.Float(), nullable=True),
    sa.Column('noninferiority_p', sa.Float(), nullable=True),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_a_id'], ['run.id'], name=op.f('fk_comparison_run_a_id_run')),
    sa.ForeignKeyConstraint(['run_b_id'], ['run.id'], name=op.f('fk_comparison_run_b_id_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comparison')),
    sa.UniqueConstraint('run_a_id', 'run_b_id', 'scorer_hash', name=op.f('uq_comparison_run_a_id_run_b_id_scorer_hash'))
    )
    with op.batch_alter_table('comparison', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comparison_run_a_id'), ['run_a_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_comparison_run_b_id'), ['run_b_id'], unique=False)

    op.create_table('completion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('repetition', sa.Integer(), nullable=False),
    sa.Column('output', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('error_kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('retried', sa.JSON(), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('ttft_ms', sa.Float(), nullable=True),
    sa.Column('input_tokens', sa.Integer(), nullable=True),
    sa.Column('output_tokens', sa.Integer(), nullable=True),
    sa.Column('tokens_estimated', sa.Boolean(), nullable=False),
    sa.Column('finish_reason', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('served_model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('cost_usd', sa.Float(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['golden_case.id'], name=op.f('fk_completion_case_id_golden_case')),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], name=op.f('fk_completion_run_id_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_completion')),
    sa.UniqueConstraint('run_id', 'case_id', 'repetition', name=op.f('uq_completion_run_id_case_id_repetition'))
    )
    with op.batch_alter_table('completion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_completion_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_completion_run_id'), ['run_id'], unique=False)

    op.create_table('run_metric',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('scorer_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scorer_key', sa.Text(), nullable=False),
    sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('mean', sa.Float(), nullable=True),
    sa.Column('ci_low', sa.Float(), nullable=True),
    sa.Column('ci_high', sa.Float(), nullable=True),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('n_clusters', sa.Integer(), nullable=True),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], name=op.f('fk_run_metric_run_id_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_metric')),
    sa.UniqueConstraint('run_id', 'scorer_hash', 'segment', name=op.f('uq_run_metric_run_id_scorer_hash_segment'))
    )
    with op.batch_alter_table('run_metric', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_metric_run_id'), ['run_id'], unique=False)

    op.create_table('score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('completion_id', sa.Integer(), nullable=False),
    sa.Column('scorer_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scorer_key', sa.Text(), nullable=False),
    sa.Column('scorer_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('scorer_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('explanation', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['completion_id'], ['completion.id'], name=op.f('fk_score_completion_id_completion')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score')),
    sa.UniqueConstraint('completion_id', 'scorer_hash', name=op.f('uq_score_completion_id_scorer_hash'))
    )
    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_completion_id'), ['completion_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_completion_id'))

    op.drop_table('score')
    with op.batch_alter_table('run_metric', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_metric_run_id'))

    op.drop_table('run_metric')
    with op.batch_alter_table('completion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_completion_run_id'))
        batch_op.drop_index(batch_op.f('ix_completion_case_id'))

    op.drop_table('completion')
    with op.batch_alter_table('comparison', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comparison_run_b_id'))
        batch_op.drop_index(batch_op.f('ix_comparison_run_a_id'))

    op.drop_table('comparison')
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_state'))
        batch_op.drop_index(batch_op.f('ix_run_model_id'))
        batch_op.drop_index(batch_op.f('ix_run_cycle_id'))

    op.drop_table('run')
    with op.batch_alter_table('golden_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_golden_case_version_id'))
        batch_op.drop_index(batch_op.f('ix_golden_case_content_hash'))

    op.drop_table('golden_case')
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cycle_watch_id'))
        batch_op.drop_index(batch_op.f('ix_cycle_state'))
        batch_op.drop_index(batch_op.f('ix_cycle_golden_set_version_id'))

    op.drop_table('cycle')
    with op.batch_alter_table('watch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_watch_production_model_id'))
        batch_op.drop_index(batch_op.f('ix_watch_golden_set_id'))

    op.drop_table('watch')
    with op.batch_alter_table('golden_set_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_golden_set_version_golden_set_id'))

    op.drop_table('golden_set_version')
    op.drop_table('model')
    op.drop_table('judge_cache')
    op.drop_table('golden_set')
