"""A cycle that fails outside the analysis step reaches the workers' delivery at once, with no
reconciler running: the step that closed it hands its alert to the `alerts` queue after the commit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.jobs.faults import TimedPeer, broker  # noqa: F401
from tests.jobs.test_alert_cycles import headers, slack  # noqa: F401
from tests.jobs.test_delivery import MISSING_KEY, declare, peers  # noqa: F401
from tests.jobs.workers import trigger_cycle, wait_for, wait_for_cycle, worker_process
from tests.peers.redis_server import RedisServer
from tests.peers.slack_peer import SlackPeer


@pytest.mark.slow
def test_a_cycle_failing_in_scoring_is_delivered_by_workers_without_the_reconciler(
        database_url: str, peers: dict[str, TimedPeer], broker: RedisServer, slack: SlackPeer,  # noqa: F811
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a judge whose key is missing on the worker (scoring raises), one attempt per step, no
    # scheduler (so no reconciler), and the bot and the signed generic webhook both configured
    declare(tmp_path, peers, n_cases=3, judged=True, judge_key_missing=True)
    monkeypatch.setenv("TURNOUT_WEBHOOK_URL", slack.generic_url)
    monkeypatch.setenv("TURNOUT_WEBHOOK_SECRET", "whsec")
    env = {"TURNOUT_REDIS_URL": broker.url, "TURNOUT_STEP_MAX_ATTEMPTS": "1", "TURNOUT_LEASE_S": "3"}
    logs = tmp_path / "worker.log"
    with worker_process(database_url, log=logs, **env):
        cycle_id = trigger_cycle(database_url, "qa-watch", **env)
        # when the scoring step fails for good
        cycle = wait_for_cycle(cycle_id, timeout=90)
        assert (cycle["state"], cycle["failure_kind"]) == ("failed", "step_failed"), cycle
        # then the workers deliver the failing alert, to both routes
        wait_for(lambda: slack.messages() and slack.generic_posts, timeout=30,
                 what=f"the failing alert on both routes; log:\n{logs.read_text()[-3000:]}")
    assert headers(slack) == ["Cycle failing: qa-watch"]
    assert MISSING_KEY in slack.messages()[0].text
    assert json.loads(slack.generic_posts[0][1])["alert"]["failure_kind"] == "step_failed"
    assert "Task jobs.deliver_alerts" in logs.read_text()
