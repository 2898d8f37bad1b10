"""Alert messages: Slack's limits, mrkdwn escaping, the cooldown, the payload round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evals.alerts import AlertPayload, FailedRun, escape, held_back, render
from evals.alerts.message import PastAlert
from evals.alerts.render import MAX_BLOCKS, MAX_HEADER_TEXT, MAX_SECTION_TEXT


def recommendation(**overrides):
    doc = {"verdict": "switch_advisable", "to": "mistral-small", "production": "gpt-4o", "consecutive": 2,
           "hysteresis": 2, "reasons": ["mistral-small is no worse", "saves 60% a month"],
           "quality": {"difference": -0.01, "ci_low": -0.03, "ci_high": 0.01, "margin": 0.05, "n_pairs": 40,
                       "segments": {"lang:fr": {"difference": 0.0, "ci_low": -0.04, "ci_high": 0.04}}},
           "cost": {"production_monthly_usd": 1000.0, "candidate_monthly_usd": 400.0, "saving": 0.6},
           "latency": {"production_p95_ms": 900.0, "candidate_p95_ms": 700.0, "slo_p95_ms": 1500.0},
           "privacy": {"golden_set_class": "internal", "candidate_ok": True}}
    return {**doc, **overrides}


def verdict_alert(**overrides):
    return AlertPayload(watch="support", cycle_id=7, kind="verdict", recommendation=recommendation(**overrides))


def texts(message):
    for block in message.blocks:
        text = block.get("text")
        if isinstance(text, dict):
            yield block["type"], text["text"]


def test_a_switch_names_both_sides_and_the_evidence():
    message = render(verdict_alert(), public_url="https://turnout.example/")
    header = message.blocks[0]["text"]["text"]
    assert header == "Switch advisable: support (gpt-4o → mistral-small)"
    assert "-0.010 [-0.030, +0.010]" in message.text and "lang:fr" in message.text
    assert "saving 60%" in message.text and "2 consecutive cycles" in message.text
    assert message.blocks[-1]["elements"][0]["url"] == "https://turnout.example/watches/support"
    assert all(block["type"] != "actions" for block in render(verdict_alert()).blocks)


def test_model_output_is_escaped():
    message = render(verdict_alert(reasons=["answered <!channel> & <https://evil|click>"]))
    assert "<!channel>" not in message.text and "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;" in message.text
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_limits_hold_with_long_reasons_and_names():
    long = verdict_alert(reasons=[f"reason {i} " + "x" * 400 for i in range(200)], to="m" * 300)
    message = render(long)
    assert len(message.blocks) <= MAX_BLOCKS
    for kind, text in texts(message):
        assert len(text) <= (MAX_HEADER_TEXT if kind == "header" else MAX_SECTION_TEXT)
    assert any("more" in text and text.endswith("more") for _, text in texts(message))


def test_failing_runs_fold_into_one_section():
    alert = AlertPayload(watch="w", cycle_id=3, kind="failing", failed_runs=tuple(
        FailedRun(model=f"m{i}", kind="endpoint_down", reason="connection refused") for i in range(80)))
    message = render(alert)
    assert message.blocks[0]["text"]["text"] == "Runs failing: w"
    assert len(message.blocks) <= MAX_BLOCKS


def test_payload_round_trip():
    alert = AlertPayload(watch="w", cycle_id=3, kind="failing", failure_kind="budget", reason="spent",
                         failed_runs=(FailedRun(model="m", kind="budget", reason="r"),), recovered=False)
    assert AlertPayload.from_json(alert.to_json()) == alert


NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(("previous", "alert", "expected"), [
    (None, verdict_alert(), False),
    (PastAlert(subject="switch_advisable:mistral-small", created_at=NOW - timedelta(hours=1)), verdict_alert(), True),
    (PastAlert(subject="switch_advisable:mistral-small", created_at=NOW - timedelta(hours=25)), verdict_alert(), False),
    (PastAlert(subject="stay:None", created_at=NOW - timedelta(hours=1)), verdict_alert(), False),  # verdict changed
    (PastAlert(subject="switch_advisable:llama", created_at=NOW - timedelta(hours=1)), verdict_alert(), False),
    (PastAlert(subject="switch_advisable:mistral-small", created_at=NOW, sent=False), verdict_alert(), False),
    # the numbers change every cycle: not a change
    (PastAlert(subject=verdict_alert().subject, created_at=NOW - timedelta(hours=1)),
     verdict_alert(consecutive=5, cost={"production_monthly_usd": 990.0, "candidate_monthly_usd": 410.0}), True),
    # a failure of the same kinds inside the cooldown, whatever came between; other kinds are news
    (PastAlert(subject=AlertPayload(watch="support", cycle_id=1, kind="failing", failure_kind="endpoint_down").subject,
               created_at=NOW - timedelta(hours=2)),
     AlertPayload(watch="support", cycle_id=3, kind="failing", failure_kind="endpoint_down", reason="other words"),
     True),
    (PastAlert(subject="endpoint_down", created_at=NOW - timedelta(hours=2)),
     AlertPayload(watch="support", cycle_id=3, kind="failing", failure_kind="budget"), False),
])
def test_cooldown(previous, alert, expected):
    assert held_back(alert=alert, previous=previous, now=NOW, cooldown_hours=24) is expected


def test_a_simulated_model_is_labelled_in_the_title_and_said_so_in_the_message():
    message = render(verdict_alert(simulated=["gpt-4o", "mistral-small"]))
    assert message.blocks[0]["text"]["text"] == ("Switch advisable: support (gpt-4o (simulated) → "
                                                 "mistral-small (simulated))")
    assert "gpt-4o, mistral-small are simulated models (kind: sim)" in message.text
    real = render(verdict_alert())
    assert "simulated" not in real.text
