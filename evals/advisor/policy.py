"""A watch's advisor policy: how strict the verdicts are, the team's volume, its SLO and residencies.

Every key has a default; `AdvisorPolicy.model_validate` refuses unknown keys and bad values with
pydantic errors whose location names the field (turnout.yaml's loader turns them into
`file:line: field 'watches[0].policy.volume.peak_rps': …`); `parse_policy` does the same for data
that does not come from a file (the API, a stored recipe).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evals.errors import ConfigError


class Volume(BaseModel):
    """The production traffic the cost is projected at."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests_per_month: float = Field(gt=0)
    """Requests a month at today's volume."""
    peak_rps: float = Field(gt=0)
    """Requests per second at the busiest time: what self-hosted replicas must serve."""
    input_tokens: float | None = Field(default=None, ge=0)
    """Mean prompt tokens per request; overrides the mix measured in the cycle."""
    output_tokens: float | None = Field(default=None, ge=0)
    """Mean completion tokens per request; overrides the mix measured in the cycle."""


class LatencySLO(BaseModel):
    """The latency a model serving production must keep, in milliseconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    p95: float | None = Field(default=None, gt=0)
    """95th percentile of the whole request's latency."""
    ttft_p95: float | None = Field(default=None, gt=0)
    """95th percentile of the time to first token."""

    @model_validator(mode="after")
    def _some_bound(self) -> LatencySLO:
        if self.p95 is None and self.ttft_p95 is None:
            raise ValueError("give p95 and/or ttft_p95 (milliseconds), or leave latency_slo_ms out")
        return self


class AdvisorPolicy(BaseModel):
    """What the advisor may recommend, per watch (`policy:` in turnout.yaml)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    margin: float = Field(default=0.05, ge=0, lt=1)
    """Non-inferiority margin on the primary score (absolute): no worse than −margin."""
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    """Two-sided level of the interval; the test is its lower bound."""
    critical_segments: tuple[str, ...] = ()
    """Tags (e.g. `lang:fr`) that must each be non-inferior on their own."""
    min_saving: float = Field(default=0.2, ge=0, le=1)
    """A switch for cost must save at least this fraction of production's monthly cost."""
    hysteresis: int = Field(default=3, ge=1, le=100)
    """Consecutive cycles with the same verdict before it is announced."""
    cooldown_hours: float = Field(default=24.0, ge=0)
    """No repeated alert for the same verdict inside this time."""
    volume: Volume | None = None
    """The team's traffic; without it there is no cost comparison and no switch for cost."""
    latency_slo_ms: LatencySLO | None = None
    """Latency bounds; without them latency is reported, not checked."""
    allowed_residencies: tuple[str, ...] = ()
    """Residencies a model may have: with the golden set's privacy class, who may see the data and
    serve production. When set, a model without a declared residency does not qualify."""
    max_cost_increase: float = Field(default=0.0, ge=0)
    """Extra monthly cost (fraction of production's) accepted for a provably better candidate."""

    @field_validator("critical_segments", "allowed_residencies")
    @classmethod
    def _distinct_names(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not value.strip():
                raise ValueError("names must not be empty")
        twice = sorted({value for value in values if values.count(value) > 1})
        if twice:
            raise ValueError(f"listed twice: {', '.join(twice)}")
        return values


def parse_policy(data: Mapping[str, Any] | None, *, where: str = "policy") -> AdvisorPolicy:
    """Check a policy given as plain data.

    Args:
        data: The `policy:` mapping; None or empty gives every default.
        where: The field path of the mapping, prefixed to the failing key in the error.

    Returns:
        The policy.

    Raises:
        ConfigError: naming the first bad field, e.g. `policy.volume.peak_rps`.
    """
    try:
        return AdvisorPolicy.model_validate(dict(data or {}))
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join([where, *(str(part) for part in error["loc"])])
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise ConfigError(error["msg"].removeprefix("Value error, ") + more, field=path) from None
