"""The advisor policy: the issue's defaults, and bad values refused with the field named."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from evals.advisor import AdvisorPolicy, parse_policy
from evals.errors import ConfigError


def test_every_key_has_the_issues_default() -> None:
    policy = AdvisorPolicy()

    assert (policy.margin, policy.confidence, policy.critical_segments, policy.min_saving) == (0.05, 0.95, (), 0.2)
    assert (policy.hysteresis, policy.cooldown_hours, policy.max_cost_increase) == (3, 24, 0.0)
    assert policy.volume is None and policy.latency_slo_ms is None and policy.allowed_residencies == ()


def test_the_issues_example_is_accepted() -> None:
    policy = parse_policy({"margin": 0.03, "confidence": 0.95, "critical_segments": ["lang:fr", "doc:long"],
                           "min_saving": 0.2, "hysteresis": 3, "cooldown_hours": 24,
                           "volume": {"requests_per_month": 2000000, "peak_rps": 20, "input_tokens": 900},
                           "latency_slo_ms": {"p95": 2000, "ttft_p95": 800}, "allowed_residencies": ["eu"]})

    assert policy.critical_segments == ("lang:fr", "doc:long")
    assert policy.volume is not None and policy.volume.input_tokens == 900 and policy.volume.output_tokens is None
    assert policy.latency_slo_ms is not None and policy.latency_slo_ms.ttft_p95 == 800


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"margin": -0.1}, "policy.margin", "greater than or equal to 0"),
    ({"confidence": 1.5}, "policy.confidence", "less than 1"),
    ({"min_saving": 2}, "policy.min_saving", "less than or equal to 1"),
    ({"hysteresis": 0}, "policy.hysteresis", "greater than or equal to 1"),
    ({"volume": {"requests_per_month": 1000}}, "policy.volume.peak_rps", "Field required"),
    ({"volume": {"requests_per_month": 1000, "peak_rps": 0}}, "policy.volume.peak_rps", "greater than 0"),
    ({"volume": {"requests_per_month": 1, "peak_rps": 1, "tokens": 5}}, "policy.volume.tokens", "Extra inputs"),
    ({"latency_slo_ms": {}}, "policy.latency_slo_ms", "give p95 and/or ttft_p95"),
    ({"critical_segments": ["lang:fr", "lang:fr"]}, "policy.critical_segments", "listed twice: lang:fr"),
    ({"allowed_residencies": [""]}, "policy.allowed_residencies", "must not be empty"),
    ({"marign": 0.03}, "policy.marign", "Extra inputs are not permitted"),
])
def test_a_bad_value_names_its_field(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(data)

    assert caught.value.field == field
    assert words in caught.value.reason


def test_the_model_refuses_unknown_keys_for_the_yaml_loader() -> None:
    with pytest.raises(ValidationError) as caught:
        AdvisorPolicy.model_validate({"volume": {"requests_per_month": 10, "peak_rps": -1}})

    assert caught.value.errors()[0]["loc"] == ("volume", "peak_rps")


def test_the_policy_is_frozen() -> None:
    with pytest.raises(ValidationError):
        AdvisorPolicy().margin = 0.1  # type: ignore[misc]
