"""Evidence for advisor tests: a production API model, a cheaper self-hosted candidate, comparisons."""

from __future__ import annotations

from typing import Any

from evals.advisor import (
    AdvisorPolicy,
    CandidateEvidence,
    CandidateQuality,
    FailureCounts,
    LatencyEvidence,
    ModelEvidence,
    QualityEvidence,
    TokenMix,
)
from evals.models import ModelSpec

VOLUME = {"requests_per_month": 2_000_000, "peak_rps": 20}
"""The issue's volume: production (1,000 in + 200 out tokens at $2.50/$10 per M) costs 9,000 USD."""


def policy(**fields: Any) -> AdvisorPolicy:
    return AdvisorPolicy.model_validate({"margin": 0.03, "volume": VOLUME, **fields})


def comparison(difference: float = 0.0, low: float = -0.02, high: float = 0.02, *, n: int = 480,
               needed: int | None = 410, outcome: str = "non_inferior") -> QualityEvidence:
    return QualityEvidence(difference=difference, ci_low=low, ci_high=high, n_pairs=n, method="tango",
                           cases_needed=needed, outcome=outcome)  # type: ignore[arg-type]


def api_spec(name: str = "gpt", **fields: Any) -> ModelSpec:
    pricing = {"input_per_mtok": 2.5, "output_per_mtok": 10.0}
    return ModelSpec(**{"name": name, "model": "gpt-4o", "base_url": "https://api.openai.com/v1",
                        "residency": "eu", "pricing": pricing, **fields})


def gpu_spec(name: str = "mistral-vllm", **fields: Any) -> ModelSpec:
    return ModelSpec(**{"name": name, "model": "mistral", "hosting": "self_hosted", "residency": "eu",
                        "context_window": 8192, "pricing": {"gpu_hour": 2.49, "gpus": 1}, **fields})


def side(spec: ModelSpec, *, p95: float | None = 1210, ttft: float | None = 420, capacity: float | None = 12,
         failures: FailureCounts | None = None, segment_failures: dict[str, FailureCounts] | None = None,
         measured_rps: float | None = None, **fields: Any) -> ModelEvidence:
    return ModelEvidence(spec=spec, mix=TokenMix(input_tokens=1000, output_tokens=200),
                         latency=LatencyEvidence(p95_ms=p95, ttft_p95_ms=ttft, **fields),
                         capacity_rps=capacity if spec.hosting == "self_hosted" else None,
                         failures=failures or FailureCounts(), segment_failures=segment_failures or {},
                         measured_rps=measured_rps)


def production(**fields: Any) -> ModelEvidence:
    return side(api_spec(**fields))


def candidate(spec: ModelSpec | None = None, *, overall: QualityEvidence | None = None,
              segments: dict[str, QualityEvidence] | None = None, **side_fields: Any) -> CandidateEvidence:
    model = side(spec or gpu_spec(), **{"p95": 640, "ttft": 180, **side_fields})
    return CandidateEvidence(model=model, quality=CandidateQuality(overall=overall or comparison(),
                                                                   segments=segments or {}))
