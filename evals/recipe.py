"""The recipe of a cycle: the watch as it was declared, and the golden-set version it pinned.

Stored with every cycle so that any run can be explained and re-scored. Declarations in turnout.yaml
are read strictly (`evals.config`); a stored recipe is read leniently, so cycles stored before a
setting existed, or after one was added, keep loading.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidatorFunctionWrapHandler, field_validator

from evals.advisor.policy import AdvisorPolicy
from evals.config import WatchDecl
from evals.drift.settings import DriftSettings
from evals.scoring.registry import ScorerSpec


class StoredWatch(WatchDecl):
    """A watch declaration as stored: keys it does not know are ignored, and its scorers are specs
    as `ScorerSpec.to_data` wrote them (`{name, options, version, primary}`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    judge_label_set: list[dict[str, Any]] = Field(default_factory=list)
    """The verdicts `drift.judge_labels` named, as `apply` read them (`JudgeLabel.to_data`); [] without.
    Stored with the watch, so workers that never see turnout.yaml's folder judge against them."""

    @field_validator("policy", mode="wrap")
    @classmethod
    def _lenient_policy(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> AdvisorPolicy:
        """Keys the policy no longer (or not yet) knows, or values it now refuses, fall back to their
        defaults, so the cycle still loads; the rest of the stored policy is kept."""
        policy: AdvisorPolicy = _lenient(value, handler, AdvisorPolicy())
        return policy

    @field_validator("drift", mode="wrap")
    @classmethod
    def _lenient_drift(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> DriftSettings:
        """The drift settings, read as leniently as the policy."""
        settings: DriftSettings = _lenient(value, handler, DriftSettings())
        return settings

    def scorer_specs(self) -> list[ScorerSpec]:
        """The scorers as stored, primary marked; not checked against the registry again, so a cycle
        scored by a scorer since removed still loads."""
        specs = []
        for item in self.scorers:
            data: dict[str, Any] = {"name": item} if isinstance(item, str) else item
            specs.append(ScorerSpec(name=str(data["name"]), options=dict(data.get("options") or {}),
                                    primary=bool(data.get("primary"))))
        return specs


def _lenient(value: Any, handler: ValidatorFunctionWrapHandler, default: BaseModel) -> Any:
    data = dict(value) if isinstance(value, dict) else {}
    while True:
        try:
            return handler(data)
        except ValidationError as exc:
            bad = {error["loc"][0] for error in exc.errors() if error["loc"]}
            if not bad & data.keys():
                return default
            data = {key: item for key, item in data.items() if key not in bad}


class Recipe(BaseModel):
    """What one cycle runs with: the watch (scorers, template, repeat, budget, policy) and the
    golden-set version. Each run adds its model's declaration (its params) beside it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    watch: StoredWatch
    """The watch as it was declared when the cycle was made."""
    golden_set: str
    """The golden set's name."""
    content_hash: str
    """The content hash of the golden-set version the cycle pinned."""

    @property
    def scorers(self) -> list[ScorerSpec]:
        """The watch's scorers, primary marked."""
        return self.watch.scorer_specs()

    @property
    def primary(self) -> ScorerSpec:
        """The primary scorer (the first when none is marked)."""
        specs = self.scorers
        return next((spec for spec in specs if spec.primary), specs[0])
