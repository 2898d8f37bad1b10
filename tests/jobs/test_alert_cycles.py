"""Alerts that cycles cause, through to the Slack peer: the cooldown of failing alerts across a
recovery, and drift, alone or folded into the cycle's verdict message."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from evals.config import load_config
from evals.results import FailureKind
from jobs import pipeline
from jobs.alerts.deliver import deliver_now
from service.storage import catalog, outbox, runs
from service.storage.alert_tables import AlertRow
from service.storage.db import session_scope
from tests.jobs.slack_route import slack_bot_route
from tests.peers.openai_peer import OpenAIPeer
from tests.peers.slack_peer import SlackPeer
from tests.service.test_advise import write_config


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackPeer]:
    """The Slack peer, reached by the bot token only."""
    with slack_bot_route(monkeypatch, webhook_secret="whsec") as peer:
        yield peer


def headers(peer: SlackPeer) -> list[str]:
    return [m.blocks[0]["text"]["text"] for m in peer.messages() if m.blocks]


def close_cycle(*, failed: bool, kind: FailureKind = "provider_unavailable") -> int:
    """A cycle of qa-watch whose runs all failed with *kind* (the cycle with them), or all finished."""
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    with session_scope() as session:
        for run in runs.cycle_runs(session, cycle_id=cycle_id):
            runs.set_run_state(session, run_id=run.id or 0, state="failed" if failed else "finished",
                               reason="the endpoint is down" if failed else None, kind=kind if failed else None)
        runs.set_cycle_state(session, cycle_id=cycle_id, state="failed" if failed else "finished",
                             reason="every run failed" if failed else None, kind=kind if failed else None)
    with session_scope() as session:
        deliver_now(outbox.cycle_alerts(session, cycle_id=cycle_id), wait_s=5)
    return cycle_id


def test_a_failure_after_a_recovery_inside_the_cooldown_sends_no_second_failing_alert(
        applied: Path, slack: SlackPeer) -> None:
    # Given a watch whose cycle failed, then recovered: two messages
    close_cycle(failed=True)
    close_cycle(failed=False)
    assert headers(slack) == ["Cycle failing: qa-watch", "Recovered: qa-watch"]

    # when the same failure comes back inside policy.cooldown_hours (24 h by default)
    again = close_cycle(failed=True)

    # then no second failing alert is written or sent: the failing kind's subject did not change
    with session_scope() as session:
        assert session.exec(select(AlertRow).where(AlertRow.cycle_id == again)).all() == []
    assert len(slack.messages()) == 2
    # and a recovery inside the cooldown is held back the same way
    close_cycle(failed=False)
    assert len(slack.messages()) == 2

    # when the failure is of another kind, it is news, inside the cooldown too
    close_cycle(failed=True, kind="budget")
    assert headers(slack)[-1] == "Cycle failing: qa-watch" and len(slack.messages()) == 3

    # when the cooldown is over, the first failure's kind alerts again
    with session_scope() as session:
        for row in session.exec(select(AlertRow)).all():
            row.created_at -= timedelta(hours=25)
            session.add(row)
    close_cycle(failed=False)
    close_cycle(failed=True)
    assert headers(slack)[-2:] == ["Recovered: qa-watch", "Cycle failing: qa-watch"]
    with session_scope() as session:
        kinds = [row.kind for row in session.exec(select(AlertRow).order_by(col(AlertRow.id))).all()]
    assert kinds == ["failing", "recovery", "failing", "recovery", "failing"]


def run_cycle() -> int:
    """A whole cycle of qa-watch inline, then its alerts delivered, as `turnout run` does before it exits."""
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
    deliver_now(pipeline.cycle_alerts(cycle_id), wait_s=10)
    return cycle_id


def test_a_drifted_production_is_one_message_folded_into_the_verdict(
        database_url: str, tmp_path: Path, slack: SlackPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fingerprint signal needs no Evidently report: it is left out, as without the `drift` extra
    # (its plots take minutes on a loaded 2-core machine, and the message is what is tested here).
    monkeypatch.setitem(sys.modules, "evidently", None)
    with OpenAIPeer(models=["prod-model"]) as prod, OpenAIPeer(models=["cand-model"]) as cand:
        # Given an equal, cheaper candidate announced at the second cycle (hysteresis 2)
        with session_scope() as session:
            catalog.apply_config(session, config=load_config(write_config(tmp_path, (prod, cand), volume=True)))
        run_cycle()
        assert slack.messages() == []

        # when the production endpoint changes its fingerprint before that second cycle
        prod.fingerprint = "fp_peer_0002"
        cycle_id = run_cycle()

        # then one message says both: the switch, and the production model's drift
        [message] = slack.messages()
        assert headers(slack) == ["Switch advisable: qa-watch (prod → cand)"]
        drift = [b["text"]["text"] for b in message.blocks or []
                 if b.get("text", {}).get("text", "").startswith("*Drift*")]
        assert len(drift) == 1 and "prod: " in drift[0] and "fp_peer_0002" in drift[0], message.blocks
        with session_scope() as session:
            assert [row.kind for row in session.exec(select(AlertRow).where(AlertRow.cycle_id == cycle_id))] == [
                "verdict"]

        # when a later cycle's production drifts again, with no verdict change, it is a drift message of its own
        prod.fingerprint = "fp_peer_0003"
        run_cycle()
    assert headers(slack) == ["Switch advisable: qa-watch (prod → cand)", "Drift: qa-watch"]
    assert "fp_peer_0003" in slack.messages()[1].text
