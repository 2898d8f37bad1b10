"""Revision 6eb3bdf90065: the one route an alert went by before becomes its delivery, attempts kept."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlmodel import select

from service.settings import get_settings
from service.storage import deliveries, migrate, outbox
from service.storage.alert_tables import AlertAttemptRow, AlertDeliveryRow
from service.storage.db import get_engine, session_scope
from service.storage.tables import WatchRow


def test_alerts_sent_before_deliveries_had_rows_keep_their_route_and_attempts(applied: Path) -> None:
    # given, at the revision before, one alert delivered to Slack after a retry and one never tried
    url = get_settings().database_url
    with session_scope() as session:
        watch = session.exec(select(WatchRow)).one()
        sent = outbox.create_test_alert(session, watch=watch).id
        waiting = outbox.create_test_alert(session, watch=watch).id
    get_engine().dispose()
    config = migrate.alembic_config(url)
    command.downgrade(config, "a1e7c0de5b16")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alert SET state = 'delivered', attempts = 2, route = 'slack', "
                                   "slack_channel_id = 'C0LLMOPS', slack_ts = '1.000001' WHERE id = :id"), {"id": sent})
        for status in ("retry", "sent"):
            connection.execute(sa.text("INSERT INTO alert_attempt (alert_id, route, status, created_at) "
                                       "VALUES (:id, 'slack', :status, CURRENT_TIMESTAMP)"),
                               {"id": sent, "status": status})
    engine.dispose()

    # when the schema moves on
    command.upgrade(config, "head")

    # then the delivered alert has its slack delivery, with its attempts pointing at it
    with session_scope() as session:
        by_alert = deliveries.of_alerts(session, alert_ids=[sent or 0, waiting or 0])
        [slack] = by_alert[sent or 0]
        assert (slack.route, slack.state, slack.attempts, slack.slack_ts) == ("slack", "delivered", 2, "1.000001")
        attempts = session.exec(select(AlertAttemptRow).where(AlertAttemptRow.alert_id == sent)).all()
        assert [a.delivery_id for a in attempts] == [slack.id, slack.id]
        # and the alert never tried fans out at its first delivery, as a new one does
        assert by_alert[waiting or 0] == []
        assert session.exec(select(AlertDeliveryRow)).all() == [slack]
