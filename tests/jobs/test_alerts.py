"""Alert delivery against the Slack peer over real sockets and a real database: exactly once through
429s, 5xx and outages; hysteresis decides when a message goes out; threads for later changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from jobs.alerts.deliver import deliver_now
from service.storage import outbox
from service.storage.alert_tables import AlertAttemptRow, AlertRow
from service.storage.db import session_scope
from service.storage.tables import WatchRow
from tests.jobs.slack_route import slack_bot_route
from tests.peers.openai_peer import OpenAIPeer
from tests.peers.slack_peer import SlackPeer
from tests.service.test_advise import write_config
from tests.service.test_cli import turnout


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackPeer]:
    with slack_bot_route(monkeypatch) as peer:
        yield peer


@pytest.fixture
def equal_peers() -> Iterator[tuple[OpenAIPeer, OpenAIPeer]]:
    with OpenAIPeer(models=["prod-model"]) as prod, OpenAIPeer(models=["cand-model"]) as cand:
        yield prod, cand


def keys(peer: SlackPeer) -> list[str]:
    return [m.metadata["event_payload"]["key"] for m in peer.messages() if m.metadata]


def attempts(alert_id: int) -> list[tuple[str, float | None]]:
    with session_scope() as session:
        rows = session.exec(select(AlertAttemptRow).where(AlertAttemptRow.alert_id == alert_id)
                            .order_by(col(AlertAttemptRow.id))).all()
        return [(row.status, row.retry_after_s) for row in rows]


def test_one_message_through_429_then_500(applied: Path, slack: SlackPeer) -> None:
    # Given an alert in the outbox and Slack answering 429 (Retry-After 1), then 500, then OK
    with session_scope() as session:
        watch = session.exec(select(WatchRow)).one()
        alert_id = outbox.create_test_alert(session, watch=watch).id or 0
    slack.fail_next(1, "429")
    slack.fail_next(1, "500")

    # when it is delivered, retrying on the schedule
    states = deliver_now([alert_id], wait_s=30)

    # then exactly one message is in the channel, with the alert's key, after three attempts
    assert states == {alert_id: "delivered"}
    assert len(slack.messages()) == 1
    with session_scope() as session:
        row = session.get(AlertRow, alert_id)
        assert row is not None and keys(slack) == [row.dedup_key]
        assert (row.slack_channel_id, row.slack_ts) == ("C0LLMOPS", slack.messages()[0].ts)
    assert attempts(alert_id) == [("retry", 1.0), ("retry", None), ("sent", None)]
    # the third attempt looked in the channel's history before it posted
    assert len(slack.calls_of("conversations.history")) == 1
    # a second delivery of the same alert sends nothing
    assert deliver_now([alert_id], wait_s=0) == {alert_id: "delivered"}
    assert len(slack.messages()) == 1


def test_a_bad_token_fails_at_once(applied: Path, slack: SlackPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
    with session_scope() as session:
        watch = session.exec(select(WatchRow)).one()
        alert_id = outbox.create_test_alert(session, watch=watch).id or 0

    assert deliver_now([alert_id], wait_s=30) == {alert_id: "failed"}
    with session_scope() as session:
        row = session.get(AlertRow, alert_id)
        assert row is not None and row.error == "slack: invalid_auth" and "xoxb" not in (row.error or "")
    assert slack.messages() == []


def run(database_url: str) -> dict[str, object]:
    ran = turnout("run", "qa-watch", "--json", database_url=database_url)
    assert ran.returncode == 0, ran.stderr
    result: dict[str, object] = json.loads(ran.stdout)
    return result


def test_hysteresis_decides_the_message_and_a_change_replies_in_its_thread(
        database_url: str, tmp_path: Path, equal_peers: tuple[OpenAIPeer, OpenAIPeer], slack: SlackPeer) -> None:
    # Given an equal, cheaper candidate and hysteresis 2
    path = write_config(tmp_path, equal_peers, volume=True)
    assert turnout("apply", "-f", str(path), database_url=database_url).returncode == 0

    run(database_url)  # cycle 1: switch, not announced
    assert slack.messages() == []
    run(database_url)  # cycle 2: announced
    assert len(slack.messages()) == 1
    first = slack.messages()[0]
    assert first.blocks is not None and first.blocks[0]["text"]["text"] == "Switch advisable: qa-watch (prod → cand)"
    run(database_url)  # cycle 3: the same verdict, nothing new
    assert len(slack.messages()) == 1 and first.replies == []

    # when the volume goes, the verdict turns to stay and holds for two cycles
    path = write_config(tmp_path, equal_peers, volume=False)
    assert turnout("apply", "-f", str(path), database_url=database_url).returncode == 0
    run(database_url)
    assert first.replies == []
    run(database_url)

    # then the change is a reply in the first message's thread, and the first message is updated
    assert len(slack.messages()) == 1
    assert [reply.blocks[0]["text"]["text"] for reply in first.replies if reply.blocks] == ["Stay: qa-watch"]
    assert first.edits == 1 and first.text.startswith("Stay: qa-watch")


def test_slack_down_for_the_whole_cycle_delivers_once_later(
        database_url: str, tmp_path: Path, equal_peers: tuple[OpenAIPeer, OpenAIPeer], slack: SlackPeer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Slack answering 503 to everything, and a watch announced at its first cycle
    path = write_config(tmp_path, equal_peers, volume=True)
    path.write_text(path.read_text().replace("hysteresis: 2", "hysteresis: 1"))
    assert turnout("apply", "-f", str(path), database_url=database_url).returncode == 0
    monkeypatch.setenv("TURNOUT_ALERT_WAIT_S", "2")
    slack.down = True

    # when the cycle runs, it finishes, and the alert waits in the outbox
    ran = run(database_url)
    assert ran["recommendation"]["verdict"] == "switch_advisable"  # type: ignore[index]
    with session_scope() as session:
        pending = outbox.cycle_alerts(session, cycle_id=int(ran["cycle_id"]))  # type: ignore[call-overload]
    assert len(pending) == 1 and slack.messages() == []

    # when Slack answers again, the outbox delivers it once
    slack.down = False
    assert deliver_now(pending, wait_s=60) == {pending[0]: "delivered"}
    assert deliver_now(pending, wait_s=0) == {pending[0]: "delivered"}
    assert len(slack.messages()) == 1
    statuses = [status for status, _ in attempts(pending[0])]
    assert statuses[-1] in ("sent", "found") and set(statuses[:-1]) == {"retry"}


def test_cli_test_list_and_retry(applied: Path, database_url: str, slack: SlackPeer,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # a test message goes out through the bot and is listed
    sent = turnout("alerts", "test", "qa-watch", database_url=database_url)
    assert sent.returncode == 0, sent.stderr
    assert "route slack: delivered" in sent.stdout and len(slack.messages()) == 1
    # a wrong token fails at once, is listed with its reason, and is sent by retry once fixed
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
    failed = turnout("alerts", "test", "qa-watch", database_url=database_url)
    assert failed.returncode == 1 and "invalid_auth" in failed.stdout
    listed = turnout("alerts", "list", database_url=database_url).stdout.splitlines()
    assert "failed" in listed[0] and "invalid_auth" in listed[0] and "delivered" in listed[1]
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    retried = turnout("alerts", "retry", listed[0].split()[0], database_url=database_url)
    assert retried.returncode == 0, retried.stderr
    assert len(slack.messages()) == 2
    # without any route variable, the test says so
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    none = turnout("alerts", "test", "qa-watch", database_url=database_url)
    assert none.returncode == 1 and "has no route" in none.stderr


@pytest.mark.slow
def test_a_worker_killed_after_slack_stored_the_message_sends_it_once(
        applied: Path, database_url: str, slack: SlackPeer, tmp_path: Path) -> None:
    import os
    import signal

    from tests.jobs.workers import scheduler_process, wait_for, worker_process
    from tests.peers.redis_server import RedisServer

    # Given an alert in the outbox, and Slack that stores the next message but holds its reply
    with session_scope() as session:
        watch = session.exec(select(WatchRow)).one()
        row = outbox.create_test_alert(session, watch=watch)
        alert_id, key = row.id or 0, row.dedup_key
    release = slack.hold_after_store()
    with RedisServer(tmp_path / "redis") as broker:
        env = {"TURNOUT_LEASE_S": "15", "TURNOUT_RECONCILE_AFTER_S": "2", "TURNOUT_SCHEDULER_SYNC_S": "0.5",
               "TURNOUT_LEADER_TTL_S": "3", "TURNOUT_REDIS_URL": broker.url}
        logs = tmp_path / "worker.log"
        with scheduler_process(database_url, log=tmp_path / "scheduler.log", **env):
            with worker_process(database_url, log=logs, queues="alerts", **env) as first:
                # when the worker posts it (the reconciler hands it over) and dies before Slack's answer
                assert slack.wait_held(40), logs.read_text()
                os.killpg(first.pid, signal.SIGKILL)
                first.wait(timeout=10)
            release.set()
            assert len(slack.messages()) == 1
            with session_scope() as session:
                killed = session.get(AlertRow, alert_id)
                assert killed is not None and killed.state == "pending" and killed.attempts == 1
            # and another worker takes the alert once its hold is over
            with worker_process(database_url, log=logs, queues="alerts", **env):
                wait_for(lambda: attempts(alert_id), timeout=60, what=f"a second attempt; log:\n{logs.read_text()}")
    # then it found the message in the channel instead of posting it again
    assert attempts(alert_id) == [("found", None)]
    assert keys(slack) == [key] and len(slack.calls_of("chat.postMessage")) == 1
    with session_scope() as session:
        delivered = session.get(AlertRow, alert_id)
        assert delivered is not None and delivered.state == "delivered"
        assert delivered.slack_ts == slack.messages()[0].ts
