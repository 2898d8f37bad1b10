"""The JSON shape of a recommendation: the issue's keys, with the issue's example numbers."""

from __future__ import annotations

import json

from evals.advisor import advise, announce
from tests.evals.advisor.builders import candidate, comparison, policy, production

ISSUE_KEYS = ["watch", "cycle_id", "verdict", "cycle_verdict", "to", "consecutive", "hysteresis", "reasons",
              "quality", "cost", "latency", "privacy", "candidates"]


def test_the_issues_example_shape_and_numbers() -> None:
    fr = comparison(0.01, -0.02, 0.04, n=120, needed=150)
    recommendation = advise(production=production(),
                            candidates=[candidate(overall=comparison(-0.004, -0.021, 0.013), segments={"lang:fr": fr})],
                            policy=policy(critical_segments=["lang:fr"], latency_slo_ms={"p95": 2000, "ttft_p95": 800}),
                            golden_set_class="internal")
    state = None
    for _ in range(3):
        state = announce(previous=state, cycle=(recommendation.cycle_verdict, recommendation.to), hysteresis=3)
    assert state is not None

    data = json.loads(json.dumps(recommendation.to_dict(watch="support-watch", cycle_id=12, announcement=state)))

    assert list(data)[:len(ISSUE_KEYS)] == ISSUE_KEYS
    assert (data["verdict"], data["cycle_verdict"], data["to"], data["consecutive"]) == (
        "switch_advisable", "switch_advisable", "mistral-vllm", 3)
    assert data["quality"] == {"difference": -0.004, "ci_low": -0.021, "ci_high": 0.013, "n_pairs": 480, "margin": 0.03,
                               "method": "tango", "cases_needed": 410, "outcome": "non_inferior",
                               "segments": {"lang:fr": {"difference": 0.01, "ci_low": -0.02, "ci_high": 0.04,
                                                        "n_pairs": 120, "non_inferior": True, "cases_needed": 150,
                                                        "outcome": "non_inferior"}}}
    assert data["cost"] == {"production_monthly_usd": 9000.0, "candidate_monthly_usd": 3635.4, "saving": 0.596,
                            "break_even_requests_per_month": 403934, "gpus_needed": 2, "saving_monthly_usd": 5364.6,
                            "capacity_lower_bound": False}
    assert data["latency"] == {"production_p95_ms": 1210, "candidate_p95_ms": 640, "production_ttft_p95_ms": 420,
                               "candidate_ttft_p95_ms": 180, "slo_p95_ms": 2000, "slo_ttft_p95_ms": 800}
    assert data["privacy"] == {"golden_set_class": "internal", "production_ok": True, "candidate_ok": True}
    assert data["candidates"][0]["model"] == "mistral-vllm" and data["candidates"][0]["eligible"] is True
    assert data["reasons"][0].startswith("switch advisable to mistral-vllm: non-inferior overall and in lang:fr")


def test_an_unannounced_switch_keeps_to_null_and_shows_the_cycles_target() -> None:
    recommendation = advise(production=production(), candidates=[candidate()], policy=policy(),
                            golden_set_class="internal")
    state = announce(previous=None, cycle=(recommendation.cycle_verdict, recommendation.to), hysteresis=3)

    data = recommendation.to_dict(watch="w", cycle_id=1, announcement=state)

    assert (data["verdict"], data["to"], data["cycle_verdict"], data["cycle_to"]) == (
        "stay", None, "switch_advisable", "mistral-vllm")


def test_without_volume_or_candidates_the_sections_keep_their_keys() -> None:
    recommendation = advise(production=production(), candidates=[], policy=policy(volume=None),
                            golden_set_class="public")

    data = recommendation.to_dict(watch="w", cycle_id=None, announcement=announce(previous=None, cycle=("stay", None),
                                                                                  hysteresis=1))

    assert data["quality"] is None and set(data["cost"].values()) == {None}
    assert data["privacy"] == {"golden_set_class": "public", "production_ok": True, "candidate_ok": None}
