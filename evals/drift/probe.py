"""The distribution probe's plan: which cases it samples, and the model as it samples them.

The probe samples the same prompts every cycle, so that one cycle's answers can be tested against the
reference runs' (`evals.drift.mmd`). Its samples are not completions: they are stored apart and never
enter the quality statistics.
"""

from __future__ import annotations

from collections.abc import Iterable

from evals.drift.settings import ProbeSettings
from evals.models import ModelSpec


def probe_prompts(content_hashes: Iterable[str], *, cases: int) -> list[str]:
    """The content hashes of the cases the probe samples: the *cases* smallest.

    A content hash is a pseudo-random key of the case, so this is a fixed sample of the golden set that
    a new version keeps, except where a changed or added case now sorts first.
    """
    return sorted(set(content_hashes))[:cases]


def probe_model(spec: ModelSpec, settings: ProbeSettings) -> ModelSpec:
    """The model as the probe calls it: its own parameters, at the probe's temperature."""
    return spec.model_copy(update={"params": {**spec.params, "temperature": settings.temperature}})
