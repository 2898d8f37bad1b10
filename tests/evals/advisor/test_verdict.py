"""The verdict table: every verdict, and every reason the advisor gives, each produced by a case."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from evals.advisor import FailureCounts, Recommendation, advise
from tests.evals.advisor.builders import api_spec, candidate, comparison, gpu_spec, policy, production

FR_BAD = comparison(-0.12, -0.21, -0.03, n=40, needed=60, outcome="inferior")
UNDECIDED = comparison(-0.01, -0.08, 0.06, n=40, needed=410, outcome="undecided")
UNDECIDED_ENOUGH = comparison(-0.02, -0.05, 0.01, n=480, needed=300, outcome="undecided")
BETTER = comparison(0.05, 0.02, 0.08)
CHEAP_API = api_spec("small", pricing={"input_per_mtok": 0.2, "output_per_mtok": 0.6})
DEAR_API = api_spec("big", pricing={"input_per_mtok": 5.0, "output_per_mtok": 15.0})
NEAR_API = api_spec("near", pricing={"input_per_mtok": 2.25, "output_per_mtok": 9.0})  # saves 10 %


def run(*candidates: Any, prod: Any = None, **policy_fields: Any) -> Recommendation:
    return advise(production=prod or production(), candidates=list(candidates), policy=policy(**policy_fields),
                  golden_set_class=policy_fields.pop("golden_set_class", "internal"))


CASES: list[tuple[str, Callable[[], Recommendation], str, str | None, list[str]]] = [
    ("cheaper and non-inferior", lambda: run(candidate()), "switch_advisable", "mistral-vllm",
     ["switch advisable to mistral-vllm: non-inferior overall; saves 59.6 % a month (policy.min_saving 20.0 %)",
      "mistral-vllm: overall: candidate − production = 0 [−0.02, 0.02] on 480 pairs (tango), above −0.03: non-inferior",
      "candidate 3,635.40 USD (self-hosted: 2 replica(s) at 12.00 rps for the peak, 2 GPU(s)",
      "mistral-vllm: saving 59.6 % (5,364.60 USD a month)",
      "mistral-vllm: break-even at 403,934 requests a month",
      "mistral-vllm: a switch for cost: saving 59.6 % is at least policy.min_saving 20.0 %",
      "no policy.latency_slo_ms: latency is reported, not checked"]),
    ("inferior in a critical segment", lambda: run(candidate(segments={"lang:fr": FR_BAD}),
                                                   critical_segments=["lang:fr"]), "stay", None,
     ["stay on gpt: no candidate passes every check",
      "mistral-vllm: lang:fr: candidate − production = −0.12 [−0.21, −0.03] on 40 pairs (tango), below −0.03"]),
    ("undecided on a small set", lambda: run(candidate(overall=UNDECIDED)), "insufficient_evidence", None,
     ["insufficient evidence: mistral-vllm would be advised if shown non-inferior, but it is undecided for want "
      "of pairs in overall (about 410 pairs needed)",
      "straddles −0.03: undecided; about 410 pairs are needed to decide (370 more)"]),
    ("a critical segment without pairs", lambda: run(candidate(), critical_segments=["doc:long"]),
     "insufficient_evidence", None,
     ["undecided for want of pairs in doc:long",
      "mistral-vllm: doc:long: no paired cases in this cycle; add cases tagged doc:long to decide it"]),
    ("undecided with enough pairs", lambda: run(candidate(overall=UNDECIDED_ENOUGH)), "stay", None,
     ["undecided although the 480 pairs suffice (about 300 needed): non-inferiority is not shown"]),
    ("undecided, no case count", lambda: run(candidate(overall=comparison(outcome="undecided", needed=None))),
     "stay", None, ["straddles −0.03: undecided"]),
    ("undecided but dearer: more pairs would not help", lambda: run(candidate(DEAR_API, overall=UNDECIDED)), "stay",
     None, ["big: more pairs would not change the verdict: even non-inferior it would not be advised",
            "big: costs more than production: advisable only for privacy"]),
    ("saving below min_saving", lambda: run(candidate(NEAR_API)), "stay", None,
     ["near: saving 10.0 % is below policy.min_saving 20.0 %: no switch for cost",
      "near: eligible, but there is no reason to move",
      "stay on gpt"]),
    ("dearer, not better", lambda: run(candidate(DEAR_API)), "stay", None,
     ["big: costs 77.8 % more (7,000.00 USD a month)", "big: costs more than production"]),
    ("better at no extra cost", lambda: run(candidate(NEAR_API, overall=BETTER)), "switch_advisable", "near",
     ["near: a switch for quality: provably better (lower bound 0.02 > 0) at an extra cost of 0.0 %",
      "non-inferior; better than production", "provably better than production within policy.max_cost_increase"]),
    ("better and dearer than max_cost_increase allows", lambda: run(candidate(DEAR_API, overall=BETTER),
                                                                     max_cost_increase=0.5), "stay", None,
     ["big: provably better, but its extra cost 77.8 % exceeds policy.max_cost_increase 50.0 %"]),
    ("better and dearer within max_cost_increase", lambda: run(candidate(DEAR_API, overall=BETTER),
                                                               max_cost_increase=1.0), "switch_advisable", "big",
     ["at an extra cost of 77.8 %, within policy.max_cost_increase 100.0 %"]),
    ("no volume: no switch for cost", lambda: run(candidate(), volume=None), "stay", None,
     ["no policy.volume: costs are not compared and no switch is advised for cost",
      "eligible, but there is no reason to move: production qualifies, the saving is not enough (no volume declared)"]),
    ("no volume, better: extra cost unknown", lambda: run(candidate(overall=BETTER), volume=None), "stay", None,
     ["provably better, but its extra cost is unknown, so policy.max_cost_increase cannot be checked"]),
    ("the candidate breaks the SLO", lambda: run(candidate(p95=2500), latency_slo_ms={"p95": 2000}), "stay", None,
     ["mistral-vllm: p95 latency 2,500 ms is above the SLO of 2,000 ms"]),
    ("production breaks the SLO: reported only", lambda: run(candidate(NEAR_API), prod=production(),
                                                             latency_slo_ms={"p95": 1000}), "stay", None,
     ["production: p95 latency 1,210 ms is above the SLO of 1,000 ms"]),
    ("a vllm candidate's SLO is not checked", lambda: run(candidate(gpu_spec(kind="vllm"), p95=9999),
                                                          latency_slo_ms={"p95": 2000}), "switch_advisable",
     "mistral-vllm", ["the latency SLO is not checked on them; declare latency_p95_ms on the model to check it"]),
    ("the candidate may not serve production", lambda: run(candidate(gpu_spec(residency=None)),
                                                           allowed_residencies=["eu"]), "stay", None,
     ["mistral-vllm: not eligible: mistral-vllm declares no residency, and policy.allowed_residencies is [eu]"]),
    ("production may not serve: move even at a higher cost",
     lambda: run(candidate(DEAR_API), prod=production(residency="us"), allowed_residencies=["eu"]),
     "switch_advisable", "big",
     ["production: gpt has residency us, which is not in policy.allowed_residencies [eu]; it may not serve "
      "production traffic, which is itself a reason to move",
      "big: production does not qualify for privacy: moving here is advisable for privacy, whatever the cost",
      "switch advisable to big: non-inferior overall; production may not serve production traffic"]),
    ("production may not serve, no candidate does either",
     lambda: run(candidate(gpu_spec(residency="us")), prod=production(residency="us"), allowed_residencies=["eu"]),
     "stay", None, ["stay on gpt: no candidate passes every check", "production: gpt has residency us"]),
    ("no candidates", lambda: run(), "stay", None, ["stay on gpt: the watch has no candidates"]),
    ("failures are named; a doc:long gap shows as context_length",
     lambda: run(candidate(failures=FailureCounts(errors=1, context_length=9, refusals=2),
                           segments={"doc:long": comparison(n=30)},
                           segment_failures={"doc:long": FailureCounts(context_length=9)}),
                 prod=replace(production(), failures=FailureCounts(errors=2))),
     "switch_advisable", "mistral-vllm",
     ["mistral-vllm: failed 12 of 480 paired cases: 1 error, 9 inputs beyond its context window of 8,192 tokens "
      "(context_length), 2 refusals; each counts as a failure in its pair",
      "mistral-vllm: doc:long: failed 9 of 30 cases: 9 inputs beyond its context window of 8,192 tokens",
      "production: failed 2 cases: 2 errors"]),
    ("a measured capacity is a lower bound", lambda: run(candidate(capacity=None, measured_rps=12.0)),
     "switch_advisable", "mistral-vllm",
     ["mistral-vllm: capacity 12.00 rps per replica is the throughput measured in the cycle, a lower "
      "bound, so its cost is an upper bound"]),
    ("an unpriced candidate is not compared", lambda: run(candidate(capacity=None)), "stay", None,
     ["no capacity is declared (pricing.capacity_rps)", "stay on gpt",
      "cost not compared: a side has no monthly cost, so no switch is advised for cost"]),
    ("an unpriced production", lambda: run(candidate(), prod=production(pricing={}, model="no-such-model")),
     "stay", None, ["production: has no price: declare pricing"]),
]


@pytest.mark.parametrize(("name", "make", "verdict", "to", "reasons"), CASES, ids=[c[0] for c in CASES])
def test_verdict_and_reasons(name: str, make: Callable[[], Recommendation], verdict: str, to: str | None,
                             reasons: list[str]) -> None:
    recommendation = make()

    assert (recommendation.cycle_verdict, recommendation.to) == (verdict, to)
    text = "\n".join(recommendation.reasons)
    for words in reasons:
        assert words in text, f"{words!r} not in:\n{text}"


@pytest.mark.parametrize(("name", "make", "verdict", "to", "reasons"), CASES, ids=[c[0] for c in CASES])
def test_each_reason_names_its_model_once(name: str, make: Callable[[], Recommendation], verdict: str,
                                          to: str | None, reasons: list[str]) -> None:
    recommendation = make()

    names = {recommendation.production, *(c.model for c in recommendation.candidates)}
    for reason in recommendation.reasons:
        for model in names:
            assert not reason.startswith(f"{model}: {model}"), reason
        assert not reason.startswith(f"production: {recommendation.production}:"), reason


def test_a_broken_slo_reads_once_per_model() -> None:
    recommendation = run(candidate(p95=2500), latency_slo_ms={"p95": 2000})

    assert "mistral-vllm: p95 latency 2,500 ms is above the SLO of 2,000 ms" in recommendation.reasons


def test_drifted_models_are_named() -> None:
    recommendation = advise(production=production(), candidates=[candidate()], policy=policy(),
                            golden_set_class="internal",
                            drifted={"gpt": "fingerprint changed", "mistral-vllm": "score −0.04"})

    assert "production gpt drifted: fingerprint changed" in recommendation.reasons
    assert "candidate mistral-vllm drifted: score −0.04" in recommendation.reasons


def test_the_best_candidate_is_the_one_that_saves_most_ties_by_quality() -> None:
    small = candidate(CHEAP_API)
    gpu = candidate()
    twin = candidate(api_spec("twin", pricing={"input_per_mtok": 0.2, "output_per_mtok": 0.6}),
                     overall=comparison(0.01, -0.01, 0.03))

    assert run(gpu, small).to == "small"  # 94.7 % against 59.6 %
    assert run(small, twin).to == "twin"  # same saving, better difference


def test_an_ineligible_cheaper_candidate_leaves_the_switch_to_the_next() -> None:
    recommendation = run(candidate(CHEAP_API, overall=FR_BAD), candidate())

    assert recommendation.to == "mistral-vllm"
    assert [c.eligible for c in recommendation.candidates] == [False, True]


def test_insufficient_evidence_carries_the_pairs_needed_of_a_short_segment() -> None:
    fr = comparison(-0.01, -0.09, 0.07, n=40, needed=150, outcome="undecided")

    recommendation = run(candidate(segments={"lang:fr": fr}), critical_segments=["lang:fr"])

    assert (recommendation.cycle_verdict, recommendation.cases_needed) == ("insufficient_evidence", 150)
    assert "undecided for want of pairs in lang:fr (about 150 pairs needed)" in recommendation.reasons[0]


def test_simulated_models_are_labelled_in_every_reason_and_listed_in_the_document() -> None:
    from evals.advisor import Announcement  # noqa: PLC0415

    recommendation = advise(production=production(kind="sim"), candidates=[candidate(gpu_spec(kind="sim"))],
                            policy=policy(), golden_set_class="internal", drifted={"gpt": "fingerprint changed"})

    assert recommendation.reasons[0].startswith("switch advisable to mistral-vllm (simulated):")
    assert "production gpt (simulated) drifted: fingerprint changed" in recommendation.reasons
    candidate_lines = [r for r in recommendation.reasons if r.startswith("mistral-vllm")]
    assert candidate_lines and all(r.startswith("mistral-vllm (simulated): ") for r in candidate_lines)
    document = recommendation.to_dict(watch="w", cycle_id=1, announcement=Announcement(
        verdict="switch_advisable", to="mistral-vllm", consecutive=1, changed=True))
    assert document["simulated"] == ["gpt", "mistral-vllm"]
    assert document["candidates"][0]["simulated"] is True
    real = advise(production=production(), candidates=[candidate()], policy=policy(), golden_set_class="internal")
    assert "simulated" not in "\n".join(real.reasons)
