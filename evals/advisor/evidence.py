"""What the advisor is given about each model of a cycle: plain values, built by the analysis step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from evals.advisor.cost import TokenMix
from evals.advisor.latency import LatencyEvidence
from evals.advisor.quality import CandidateQuality
from evals.models import ModelSpec


@dataclass(frozen=True)
class FailureCounts:
    """Cases a model could not answer, by kind; each is a failure of that model in its pair."""

    errors: int = 0
    """Errors after retries (HTTP, timeout, engine)."""
    context_length: int = 0
    """Inputs beyond the model's context window, refused before sending."""
    refusals: int = 0
    """Answers the scorer judged to be refusals."""

    @property
    def total(self) -> int:
        """All failures."""
        return self.errors + self.context_length + self.refusals

    def describe(self, context_window: int | None) -> str:
        """The counts as words, e.g. `3 errors, 9 inputs beyond its context window of 8,192 tokens`."""
        window = f" of {context_window:,} tokens" if context_window else ""
        parts = [(self.errors, "error", "errors"),
                 (self.context_length, f"input beyond its context window{window} (context_length)",
                  f"inputs beyond its context window{window} (context_length)"),
                 (self.refusals, "refusal", "refusals")]
        return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in parts if n)


@dataclass(frozen=True)
class ModelEvidence:
    """One model's side of the cycle: its declaration and what its run measured."""

    spec: ModelSpec
    """The model as declared (name, kind, hosting, residency, pricing, context window)."""
    failures: FailureCounts = field(default_factory=FailureCounts)
    """Its failures over the cycle's cases."""
    segment_failures: Mapping[str, FailureCounts] = field(default_factory=dict)
    """Its failures per segment tag (where `doc:long` gaps show)."""
    latency: LatencyEvidence = field(default_factory=LatencyEvidence)
    """Measured p95s and any declared serving latency."""
    mix: TokenMix | None = None
    """Mean tokens per request measured in its run."""
    capacity_rps: float | None = None
    """Declared requests per second per replica (self-hosted `pricing.capacity_rps`)."""
    measured_rps: float | None = None
    """Throughput measured in its run (requests per second of busy time), a lower bound on capacity."""


@dataclass(frozen=True)
class CandidateEvidence:
    """A candidate's side plus its paired comparison against production."""

    model: ModelEvidence
    """The candidate's own evidence."""
    quality: CandidateQuality
    """Candidate − production, overall and per segment."""
