"""The settings of a simulated model (`kind: sim`): `options:` of its `models:` entry in turnout.yaml.

A simulated model answers from the case, not from the prompt: with probability p(segment) it gives
the case's reference answer, otherwise a plausible wrong one. Its latency is drawn from a lognormal
with the declared p50 and p95, its token counts come from the text lengths, its price from the
model's `pricing`, its `system_fingerprint` from here. `updates` changes it silently from a given
time on, as a provider does when it ships a new version under the same name.

Every key has a default; unknown keys and bad values are refused with pydantic errors whose location
names the field (`models[2].options.segments.lang:fr`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evals.errors import ConfigError

SIMULATED = "simulated"
"""The word every output shows next to a simulated model's name."""


class SimLatency(BaseModel):
    """The whole request's latency, ms: a lognormal through these two quantiles."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    p50: float = Field(default=800.0, gt=0)
    """Median latency, ms."""
    p95: float = Field(default=2000.0, gt=0)
    """95th percentile, ms (at least p50)."""
    ttft_share: float = Field(default=0.25, gt=0, le=1)
    """Time to first token as a share of the latency."""

    @model_validator(mode="after")
    def _ordered(self) -> SimLatency:
        if self.p95 < self.p50:
            raise ValueError(f"p95 ({self.p95:g} ms) must be at least p50 ({self.p50:g} ms)")
        return self


def _check_segments(value: dict[str, float]) -> dict[str, float]:
    for tag, p in value.items():
        if not tag.strip():
            raise ValueError("segment tags must not be empty")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"accuracy of segment '{tag}' is {p:g}; give a probability in [0, 1]")
    return value


class SimUpdate(BaseModel):
    """A silent change of the simulated model from a point in time on (a new version, same name)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    """From when on the change holds (ISO 8601; without a timezone, UTC)."""
    fingerprint: str | None = None
    """The new `system_fingerprint`; None keeps the previous one."""
    accuracy: float | None = Field(default=None, ge=0, le=1)
    """The new accuracy outside the listed segments; None keeps it."""
    segments: dict[str, float] = Field(default_factory=dict)
    """Segment accuracies that change (the others are kept)."""

    @field_validator("segments")
    @classmethod
    def _probabilities(cls, value: dict[str, float]) -> dict[str, float]:
        return _check_segments(value)

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SimOptions(BaseModel):
    """How a simulated model behaves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    """The difficulty seed: models with the same seed find the same cases hard (their errors coincide as
    far as their accuracies allow), as real models of one class do; another seed draws independently."""
    accuracy: float = Field(default=0.9, ge=0, le=1)
    """Probability of answering a case's reference, for cases in no listed segment."""
    segments: dict[str, float] = Field(default_factory=dict)
    """Accuracy per segment tag (e.g. `lang:fr: 0.6`); a case in several listed segments takes the lowest."""
    latency_ms: SimLatency = Field(default_factory=SimLatency)
    """The latency distribution."""
    time_scale: float = Field(default=0.0, ge=0, le=10)
    """Real seconds waited per simulated second: 0 answers at once (load tests, the demo), 1 in real time."""
    fingerprint: str | None = None
    """The `system_fingerprint` every answer carries."""
    error_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of calls that fail with a server error (after the model's retries), for load tests."""
    chars_per_token: float = Field(default=4.0, gt=0)
    """Characters per token, for the token counts."""
    updates: tuple[SimUpdate, ...] = ()
    """Silent changes in time order: each holds from its `at` on."""

    @field_validator("segments")
    @classmethod
    def _probabilities(cls, value: dict[str, float]) -> dict[str, float]:
        return _check_segments(value)

    @field_validator("updates")
    @classmethod
    def _in_order(cls, value: tuple[SimUpdate, ...]) -> tuple[SimUpdate, ...]:
        for before, after in zip(value, value[1:], strict=False):
            if after.at < before.at:
                raise ValueError(f"updates are in time order: {after.at.isoformat()} comes before "
                                 f"{before.at.isoformat()}")
        return value

    def at(self, now: datetime) -> SimState:
        """What the model is at *now*: its fingerprint and accuracies after the updates due by then."""
        fingerprint, accuracy, segments = self.fingerprint, self.accuracy, dict(self.segments)
        version = 0
        for index, update in enumerate(self.updates, start=1):
            if update.at > now:
                break
            version = index
            fingerprint = update.fingerprint if update.fingerprint is not None else fingerprint
            accuracy = update.accuracy if update.accuracy is not None else accuracy
            segments.update(update.segments)
        return SimState(version=version, fingerprint=fingerprint, accuracy=accuracy, segments=segments)


class SimState(BaseModel):
    """A simulated model at one moment: its version (0 before any update) and behaviour."""

    model_config = ConfigDict(frozen=True)

    version: int
    fingerprint: str | None
    accuracy: float
    segments: dict[str, float]

    def p_correct(self, tags: tuple[str, ...]) -> float:
        """The accuracy for a case with *tags*: the lowest of its listed segments, else the default."""
        listed = [self.segments[tag] for tag in tags if tag in self.segments]
        return min(listed) if listed else self.accuracy


def sim_options(options: Mapping[str, Any]) -> SimOptions:
    """Check a simulated model's `options:`.

    Raises:
        ConfigError: naming the first bad field, e.g. `options.latency_ms.p95`.
    """
    try:
        return SimOptions.model_validate(dict(options))
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(["options", *(str(part) for part in error["loc"])])
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise ConfigError(error["msg"].removeprefix("Value error, ") + more, field=path) from None
