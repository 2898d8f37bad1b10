"""Drift: a model's run against its reference runs (paired score change, output change at
temperature 0, fingerprints, Evidently data drift), with a `stable`/`drifted` verdict and reasons."""

from evals.drift.settings import DriftSettings, ProbeSettings

__all__ = ["DriftSettings", "ProbeSettings"]
