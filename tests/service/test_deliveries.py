"""Deliveries per (alert, route) on a real database: fan-out at the first delivery, each route's own
state, a thread reply's bot route waiting for its parent while its webhooks go, retry of failed routes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from service.storage import deliveries, outbox
from service.storage.alert_tables import AlertRow
from service.storage.db import session_scope
from service.storage.tables import WatchRow, utcnow

HOLD = timedelta(seconds=30)


def new_alert(parent_id: int | None = None) -> int:
    with session_scope() as session:
        watch = session.exec(select(WatchRow)).one()
        row = outbox.create_test_alert(session, watch=watch)
        row.parent_id = parent_id
        session.add(row)
        return row.id or 0


def test_fan_out_then_each_route_on_its_own(applied: Path) -> None:
    alert_id = new_alert()
    # the first delivery makes one row per configured route and takes them all
    with session_scope() as session:
        claim = deliveries.claim(session, alert_id=alert_id, routes=["webhook", "slack"], hold=HOLD)
        assert claim is not None and [c.route for c in claim.deliveries] == ["slack", "webhook"]
        ids = {c.route: c.delivery_id for c in claim.deliveries}
    # while held, nothing is due; later calls do not fan out again, whatever is configured then
    with session_scope() as session:
        assert deliveries.claim(session, alert_id=alert_id, routes=["slack_webhook"], hold=HOLD) is None
    with session_scope() as session:
        assert deliveries.record(session, delivery_id=ids["webhook"], status="sent") == "pending"
        assert deliveries.record(session, delivery_id=ids["slack"], status="retry", error="HTTP 503") == "pending"
    # the retry is due after the backoff: only the bot route is taken again, and it may exist by then
    later = utcnow() + timedelta(seconds=2)
    with session_scope() as session:
        again = deliveries.claim(session, alert_id=alert_id, routes=["slack_webhook"], hold=HOLD, now=later)
        assert again is not None and [(c.route, c.may_exist) for c in again.deliveries] == [("slack", True)]
    with session_scope() as session:
        assert deliveries.record(session, delivery_id=ids["slack"], status="failed", error="invalid_auth") == "failed"
        row = session.get(AlertRow, alert_id)
        assert row is not None and row.error == "slack: invalid_auth" and row.attempts == 3
    # a retry makes only the failed route due
    with session_scope() as session:
        deliveries.retry(session, alert_id=alert_id)
    with session_scope() as session:
        retried = deliveries.claim(session, alert_id=alert_id, routes=[], hold=HOLD)
        assert retried is not None and [c.route for c in retried.deliveries] == ["slack"]


def test_a_reply_waits_for_its_threads_first_message_on_the_bot_route_only(applied: Path) -> None:
    parent = new_alert()
    with session_scope() as session:
        taken = deliveries.claim(session, alert_id=parent, routes=["slack"], hold=HOLD)
        assert taken is not None
        parent_slack = taken.deliveries[0].delivery_id
    child = new_alert(parent_id=parent)
    # while the parent's bot message may still be posted, the child's bot route waits; its webhook goes
    with session_scope() as session:
        claim = deliveries.claim(session, alert_id=child, routes=["slack", "webhook"], hold=HOLD)
        assert claim is not None and [c.route for c in claim.deliveries] == ["webhook"]
    with session_scope() as session:
        deliveries.record(session, delivery_id=parent_slack, status="sent", channel_id="C0LLMOPS", ts="1.000002")
    # once it is out, the reply goes in its thread, to the channel the parent's answer named
    with session_scope() as session:
        claim = deliveries.claim(session, alert_id=child, routes=[], hold=HOLD, now=utcnow() + timedelta(seconds=6))
        assert claim is not None
        [(route, thread_ts, channel)] = [(c.route, c.thread_ts, c.slack_channel_id) for c in claim.deliveries]
    assert (route, thread_ts, channel) == ("slack", "1.000002", "C0LLMOPS")


def test_no_route_configured_is_skipped(applied: Path) -> None:
    alert_id = new_alert()
    with session_scope() as session:
        claim = deliveries.claim(session, alert_id=alert_id, routes=[], hold=HOLD)
        assert claim is not None and claim.deliveries == [] and claim.alert.state == "skipped"
