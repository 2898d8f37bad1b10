"""A watch's drift settings (`drift:` in turnout.yaml): what a run is compared with and how often.

Every key has a default; unknown keys and bad values are refused with pydantic errors whose location
names the field, which turnout.yaml's loader turns into `file:line: field 'watches[0].drift.…'`.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evals.drift.mmd import ALPHA, PERMUTATIONS


class ProbeSettings(BaseModel):
    """The optional distribution probe for silent updates (`drift: {probe: {...}}`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cases: int = Field(default=20, ge=2, le=1000)
    """Prompts sampled each cycle."""
    samples: int = Field(default=10, ge=2, le=100)
    """Samples per prompt."""
    temperature: float = Field(default=1.0, gt=0, le=2)
    """Sampling temperature of the probe (above 0: the test compares distributions)."""
    permutations: int = Field(default=PERMUTATIONS, ge=99, le=100_000)
    """Label permutations behind the test's p-value (seeded; its smallest value is 1 / (permutations + 1))."""
    alpha: float = Field(default=ALPHA, gt=0, lt=0.5)
    """Level of the test: a p-value below it is a `drifted` reason (small: a cycle runs every day)."""

    @model_validator(mode="after")
    def _alpha_reachable(self) -> ProbeSettings:
        """A level no p-value can go below would make a probe that never rejects."""
        if 1 / (self.permutations + 1) >= self.alpha:
            raise ValueError(f"alpha {self.alpha} is out of reach of {self.permutations} permutations (the smallest "
                             f"p-value is 1 / {self.permutations + 1}): use at least "
                             f"{math.floor(1 / self.alpha)} permutations, or a larger alpha")
        return self


class DriftSettings(BaseModel):
    """How a watch's runs are checked for drift."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference_runs: int = Field(default=3, ge=1, le=50)
    """K: without a pinned baseline, the last K runs of the model on the same golden-set version."""
    probe: ProbeSettings | None = None
    """The distribution probe; off unless configured."""
    judge_labels: str | None = Field(default=None, min_length=1)
    """A JSONL or CSV file of user-labelled judge verdicts (relative to turnout.yaml, read at `apply`,
    `evals.drift.judge_labels`); None pins the first cycle's own verdicts on a fixed sample."""
    judge_every: int = Field(default=5, ge=1, le=1000)
    """Cycles between two re-judgings of the pinned verdicts (judge drift)."""
    keep_reports_days: int = Field(default=90, ge=1, le=3650)
    """Days an Evidently snapshot is kept; its scalars stay."""
    drift_share: float = Field(default=0.5, gt=0, le=1)
    """Share of Evidently columns drifting above which the run is `drifted`."""
