"""Latency against the SLO (not on batch-replayed vLLM) and who may serve production traffic."""

from __future__ import annotations

import pytest

from evals.advisor.latency import LatencyEvidence, check_latency
from evals.advisor.policy import LatencySLO
from evals.advisor.privacy import check_serving
from evals.policy import check_privacy
from tests.evals.advisor.builders import api_spec, gpu_spec

SLO = LatencySLO(p95=2000, ttft_p95=800)


def test_within_the_slo_is_ok() -> None:
    check = check_latency(model="m", kind="openai", evidence=LatencyEvidence(p95_ms=640, ttft_p95_ms=180), slo=SLO)

    assert check.ok and check.reasons == ()


@pytest.mark.parametrize(("p95", "ttft", "words"), [
    (2500, 100, "p95 latency 2,500 ms is above the SLO of 2,000 ms"),
    (100, 900, "p95 time to first token 900 ms is above the SLO of 800 ms"),
])
def test_a_broken_bound_gives_the_numbers(p95: float, ttft: float, words: str) -> None:
    check = check_latency(model="m", kind="openai", evidence=LatencyEvidence(p95_ms=p95, ttft_p95_ms=ttft), slo=SLO)

    assert not check.ok and check.reasons == (words,)


def test_an_unmeasured_bound_is_said_not_checked() -> None:
    check = check_latency(model="m", kind="openai", evidence=LatencyEvidence(p95_ms=100), slo=SLO)

    assert check.ok and "no p95 time to first token was measured" in check.reasons[0]


def test_without_an_slo_latency_is_reported_not_checked() -> None:
    check = check_latency(model="m", kind="openai", evidence=LatencyEvidence(p95_ms=9e9), slo=None)

    assert check.ok and check.p95_ms == 9e9


def test_vllm_batch_times_are_not_checked() -> None:
    check = check_latency(model="v", kind="vllm", evidence=LatencyEvidence(p95_ms=9e9, ttft_p95_ms=9e9), slo=SLO)

    assert check.ok and check.p95_ms is None
    assert "queueing, not serving latency" in check.reasons[0] and "declare latency_p95_ms" in check.reasons[0]


def test_a_declared_vllm_latency_is_checked_instead() -> None:
    check = check_latency(model="v", kind="vllm", evidence=LatencyEvidence(p95_ms=10, declared_p95_ms=2500), slo=SLO)

    assert not check.ok and check.p95_ms == 2500
    assert "declared latency_p95_ms is checked instead" in check.reasons[0]
    assert "p95 latency 2,500 ms is above the SLO" in check.reasons[1]


@pytest.mark.parametrize(("spec", "privacy", "allowed", "words"), [
    (api_spec(residency="us"), "internal", (), None),
    (api_spec(residency="us"), "internal", ("eu",), "residency us, which is not in policy.allowed_residencies [eu]"),
    (gpu_spec(residency=None), "public", ("eu",), "declares no residency"),
    (api_spec(residency=None), "confidential", (), "hosted by an API provider"),
    (api_spec(residency="eu"), "confidential", ("eu",), None),
    (gpu_spec(residency=None), "confidential", (), None),
])
def test_may_serve_production(spec: object, privacy: str, allowed: tuple[str, ...], words: str | None) -> None:
    check = check_serving(spec, privacy=privacy, allowed_residencies=allowed)  # type: ignore[arg-type]

    assert check.ok is (words is None)
    assert (check.reason is None) if words is None else (check.reason is not None and words in check.reason)


def test_receiving_a_set_is_checked_as_before() -> None:
    # `check_privacy` keeps its rule: residency matters for confidential sets only, and only for API models.
    assert check_privacy(watch_name="w", golden_set="g", privacy="internal", models=[api_spec(residency=None)],
                         allowed_residencies=["eu"]) is None
    violation = check_privacy(watch_name="w", golden_set="g", privacy="confidential",
                              models=[gpu_spec(residency=None), api_spec(residency="us")], allowed_residencies=["eu"])
    assert violation is not None and "model 'gpt'" in violation.reason
