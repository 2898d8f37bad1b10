"""The `drift:` settings of a watch: defaults, and bad values that name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.config import load_config
from evals.errors import ConfigError
from evals.recipe import StoredWatch
from tests.evals.test_config import write


def test_every_drift_setting_has_its_default(tmp_path: Path) -> None:
    drift = load_config(write(tmp_path)).watches["support-watch"].drift

    assert (drift.reference_runs, drift.probe, drift.judge_labels, drift.judge_every, drift.keep_reports_days) == (
        3, None, None, 5, 90)


def test_a_probe_takes_its_defaults_for_what_it_does_not_say(tmp_path: Path) -> None:
    probe = load_config(write(tmp_path, extra="    drift: {probe: {cases: 10}}\n")).watches["support-watch"].drift.probe

    assert probe is not None
    assert (probe.cases, probe.samples, probe.temperature, probe.permutations, probe.alpha) == (10, 10, 1.0, 1000, 0.01)


@pytest.mark.parametrize("extra", ["    drift: {judge_labels: labels.jsonl}\n"])
def test_judge_labels_are_refused_until_they_are_built(tmp_path: Path, extra: str) -> None:
    (tmp_path / "labels.jsonl").write_text("{}\n")

    with pytest.raises(ConfigError, match="not supported yet") as caught:
        load_config(write(tmp_path, extra=extra))

    assert caught.value.field is not None and caught.value.field.startswith("watches[0].drift.")


@pytest.mark.parametrize(("extra", "field"), [
    ("    drift: {reference_runs: 0}\n", "watches[0].drift.reference_runs"),
    ("    drift: {judge_every: -2}\n", "watches[0].drift.judge_every"),
    ("    drift: {keep_report_days: 30}\n", "watches[0].drift.keep_report_days"),
    ("    drift: {probe: {samples: 1}}\n", "watches[0].drift.probe.samples"),
    ("    drift: {probe: {temperature: 0}}\n", "watches[0].drift.probe.temperature"),
    ("    drift: {probe: {alpha: 0.5}}\n", "watches[0].drift.probe.alpha"),
    ("    drift: {judge_labels: missing.jsonl}\n", "watches[0].drift.judge_labels"),
])
def test_a_bad_drift_setting_names_file_line_and_field(tmp_path: Path, extra: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, extra=extra))

    assert caught.value.field == field and caught.value.line == 25


def test_a_stored_watch_keeps_loading_with_a_drift_value_it_now_refuses() -> None:
    watch = StoredWatch.model_validate({"name": "w", "golden_set": "g", "production": "p", "scorers": ["exact_match"],
                                        "drift": {"reference_runs": 0, "judge_every": 7, "someday": 1}})

    assert (watch.drift.reference_runs, watch.drift.judge_every) == (3, 7)
