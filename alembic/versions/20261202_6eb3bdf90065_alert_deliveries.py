"""alert deliveries: one row per (alert, route), each with its own state and retries

Alerts that had gone out (or were retrying) by a route get a delivery row for it, with the alert's
state, attempts and Slack ids; alerts not yet tried get theirs at their first delivery.

Revision ID: 6eb3bdf90065
Revises: a1e7c0de5b16
Create Date: 2026-12-02 01:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '6eb3bdf90065'
down_revision: str | None = 'a1e7c0de5b16'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alert_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('route', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('slack_channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('slack_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('delivered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_alert_delivery_alert_id_alert')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_delivery')),
    sa.UniqueConstraint('alert_id', 'route', name=op.f('uq_alert_delivery_alert_id_route'))
    )
    with op.batch_alter_table('alert_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_delivery_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_delivery_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_delivery_state'), ['state'], unique=False)
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.alter_column('route', existing_type=sqlmodel.sql.sqltypes.AutoString(length=16),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=48), existing_nullable=True)
    with op.batch_alter_table('alert_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_alert_attempt_delivery_id'), ['delivery_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_alert_attempt_delivery_id_alert_delivery'), 'alert_delivery',
                                    ['delivery_id'], ['id'])
    # The one route an alert went by so far becomes its delivery; its attempts point at it.
    op.execute(
        "INSERT INTO alert_delivery (alert_id, route, state, attempts, next_attempt_at, slack_channel_id, slack_ts,"
        " error, created_at, delivered_at)"
        " SELECT id, route, CASE WHEN state = 'skipped' THEN 'failed' ELSE state END, attempts, next_attempt_at,"
        " slack_channel_id, slack_ts, error, created_at, delivered_at FROM alert WHERE route IS NOT NULL")
    op.execute(
        "UPDATE alert_attempt SET delivery_id = (SELECT d.id FROM alert_delivery d"
        " WHERE d.alert_id = alert_attempt.alert_id AND d.route = alert_attempt.route)"
        " WHERE route IS NOT NULL")


def downgrade() -> None:
    op.execute("UPDATE alert SET route = substr(route, 1, 16)")
    with op.batch_alter_table('alert_attempt', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alert_attempt_delivery_id_alert_delivery'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_alert_attempt_delivery_id'))
        batch_op.drop_column('delivery_id')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.alter_column('route', existing_type=sqlmodel.sql.sqltypes.AutoString(length=48),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=16), existing_nullable=True)
    with op.batch_alter_table('alert_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_delivery_state'))
        batch_op.drop_index(batch_op.f('ix_alert_delivery_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_alert_delivery_alert_id'))
    op.drop_table('alert_delivery')
