"""The drift verdict of one model in one cycle: `stable` or `drifted`, with the reasons and evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from evals.drift.mmd import MMDResult
from evals.drift.settings import ProbeSettings
from evals.drift.signals import OutputChange, RunSample, new_values, output_change, score_change
from evals.stats import PairedComparison

DriftVerdict = Literal["stable", "drifted"]
ReasonKind = Literal["first_run", "score", "segment_score", "output_change", "fingerprint", "served_model",
                     "probe", "data_drift"]

FIRST_RUN = "first run: reference set"
"""The one reason of a model's first run, which becomes the reference of the next ones."""

CHANGE_ALPHA = 0.01
"""Level of the output-change test: kept small, a cycle runs every day and each false alarm pages someone."""


@dataclass(frozen=True)
class DriftReason:
    """Why a run is (or is not yet) compared, or why it drifted."""

    kind: ReasonKind
    """What signal fired."""
    message: str
    """The sentence a person reads."""


@dataclass(frozen=True)
class DataDrift:
    """The scalars of an Evidently data-drift report: what charts and the verdict read, never the blob."""

    drift_share: float | None
    """Share of the tested columns that drifted; None when no column could be tested."""
    drifted_columns: tuple[str, ...] = ()
    """The columns that drifted."""
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Column -> `{"test", "p_value" (or score), "drifted"}`; untestable ones carry `"untestable": why`."""


@dataclass(frozen=True)
class DriftCheck:
    """One model's run checked against its reference runs."""

    run_id: int
    """The run checked."""
    reference_run_ids: tuple[int, ...]
    """Its reference runs, oldest first; empty for a first run."""
    verdict: DriftVerdict
    """`drifted` when any reason other than `first_run` fired."""
    reasons: tuple[DriftReason, ...] = ()
    """Why, in the order the signals are checked."""
    comparison: PairedComparison | None = None
    """Current − reference on the primary scorer, overall and per segment."""
    output_change: OutputChange | None = None
    """Changed answers against the latest reference run."""
    new_fingerprints: tuple[str, ...] = ()
    """`system_fingerprint` values no reference run reported."""
    new_served_models: tuple[str, ...] = ()
    """Served model ids no reference run reported."""
    probe: MMDResult | None = None
    """The distribution probe's test against the reference runs' samples; None without a probe or samples."""
    data_drift: DataDrift | None = None
    """The Evidently report's scalars; None when no report was built."""
    deterministic: bool = True
    """True when the model samples at temperature 0, so a changed answer is a signal in itself."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (`turnout drift --json` prints one per model, with the model's name beside)."""
        change, comparison, data, probe = self.output_change, self.comparison, self.data_drift, self.probe
        return {
            "run_id": self.run_id,
            "reference_run_ids": list(self.reference_run_ids),
            "verdict": self.verdict,
            "reasons": [{"kind": reason.kind, "message": reason.message} for reason in self.reasons],
            "score_change": None if comparison is None else comparison.difference,
            "ci_low": None if comparison is None else comparison.ci_low,
            "ci_high": None if comparison is None else comparison.ci_high,
            "output_change_rate": None if change is None else change.rate,
            "expected_change_rate": None if change is None else change.expected_rate,
            "fingerprint_changed": bool(self.new_fingerprints),
            "new_fingerprints": list(self.new_fingerprints),
            "served_model_changed": bool(self.new_served_models),
            "probe_p": None if probe is None else probe.p_value,
            "probe": None if probe is None else {
                "p_value": probe.p_value, "statistic": probe.statistic, "n_current": probe.n_current,
                "n_reference": probe.n_reference, "n_prompts": probe.n_prompts, "permutations": probe.permutations},
            "drift_share": None if data is None else data.drift_share,
            "drifted_columns": [] if data is None else list(data.drifted_columns),
            "judge_kappa": None,
        }


def first_run(run_id: int) -> DriftCheck:
    """The check of a model's first run: nothing to compare with; it is the reference from now on."""
    return DriftCheck(run_id=run_id, reference_run_ids=(), verdict="stable",
                      reasons=(DriftReason("first_run", FIRST_RUN),))


def check_drift(
    *,
    current: RunSample,
    references: Sequence[RunSample],
    margin: float = 0.0,
    confidence: float = 0.95,
    deterministic: bool = True,
    data_drift: DataDrift | None = None,
    drift_share: float = 0.5,
    probe: MMDResult | None = None,
    probe_alpha: float = ProbeSettings().alpha,
) -> DriftCheck:
    """Check one run against its reference runs.

    Args:
        current: The run checked.
        references: Its reference runs, oldest first; empty for a first run.
        margin: Passed to the comparison (it sizes `cases_needed`); a drop is judged on the interval alone.
        confidence: Coverage of the score change's interval.
        deterministic: The model samples at temperature 0: changed answers beyond the expected rate drift.
        data_drift: The Evidently report's scalars, when one was built.
        drift_share: Share of drifting Evidently columns above which the run drifted.
        probe: The distribution probe's test, when the watch has a probe and both sides have samples.
        probe_alpha: Level of that test: a p-value below it drifted.

    Returns:
        The verdict with its reasons and evidence.

    Raises:
        BadReference: the references share no scored case with the current run.
    """
    if not references:
        return first_run(current.run_id)
    comparison = score_change(current, references, margin=margin, confidence=confidence)
    change = output_change(current, references)
    fingerprints = new_values(current.fingerprints, [sample.fingerprints for sample in references])
    served = new_values(current.served_models, [sample.served_models for sample in references])
    reasons = [*_score_reasons(comparison, confidence)]
    if deterministic and change.p_value is not None and change.p_value < CHANGE_ALPHA:
        reasons.append(DriftReason("output_change", (
            f"{change.n_changed} of {change.n_cases} answers changed at temperature 0 "
            f"({change.rate:.0%}; the reference runs change {change.expected_rate:.0%})")))
    if fingerprints:
        old = sorted(frozenset().union(*(sample.fingerprints for sample in references)))
        reasons.append(DriftReason("fingerprint", f"system fingerprint changed: {', '.join(old)} -> "
                                                  f"{', '.join(fingerprints)}"))
    if served:
        old = sorted(frozenset().union(*(sample.served_models for sample in references)))
        reasons.append(DriftReason("served_model", f"served model changed: {', '.join(old)} -> {', '.join(served)}"))
    if probe is not None and probe.p_value < probe_alpha:
        reasons.append(DriftReason("probe", (
            f"sampled answers differ from the reference's (MMD test p = {probe.p_value:.4f} < {probe_alpha}, "
            f"{probe.n_current} against {probe.n_reference} samples of {probe.n_prompts} prompts)")))
    if data_drift is not None and data_drift.drift_share is not None and data_drift.drift_share > drift_share:
        reasons.append(DriftReason("data_drift", (
            f"{data_drift.drift_share:.0%} of the per-case columns drifted (over {drift_share:.0%}): "
            f"{', '.join(data_drift.drifted_columns)}")))
    return DriftCheck(run_id=current.run_id, reference_run_ids=tuple(sample.run_id for sample in references),
                      verdict="drifted" if reasons else "stable", reasons=tuple(reasons), comparison=comparison,
                      output_change=change, new_fingerprints=fingerprints, new_served_models=served,
                      probe=probe, data_drift=data_drift, deterministic=deterministic)


def _score_reasons(comparison: PairedComparison, confidence: float) -> list[DriftReason]:
    """A drop whose whole interval is below 0; for segments, also significant after Holm's correction."""
    reasons = []
    if comparison.ci_high is not None and comparison.ci_high < 0 and comparison.difference is not None:
        reasons.append(DriftReason("score", (
            f"score dropped by {-comparison.difference:.3f} on {comparison.n_pairs} paired cases "
            f"(interval {comparison.ci_low:.3f} to {comparison.ci_high:.3f})")))
    for tag, segment in comparison.segments.items():
        dropped = segment.ci_high is not None and segment.ci_high < 0 and segment.difference is not None
        if dropped and (segment.p_value_holm is None or segment.p_value_holm < 1 - confidence):
            reasons.append(DriftReason("segment_score", (
                f"score dropped by {-(segment.difference or 0.0):.3f} in segment {tag} on {segment.n_pairs} "
                f"cases (interval {segment.ci_low:.3f} to {segment.ci_high:.3f})")))
    return reasons
