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
    assert (probe.cases, probe.samples, probe.temperature, probe.permutations, probe.alpha) == (
        10, 10, 1.0, 9999, 0.001)


JUDGED = "    drift: {judge_labels: labels.jsonl}\n"


def with_judge(path: Path) -> Path:
    text = path.read_text().replace("{name: asserts, primary: true}]",
                                    "{name: asserts, primary: true}, {name: judge, options: {model: gpt-prod}}]")
    path.write_text(text)
    return path


def test_judge_labels_are_read_at_apply_and_kept_with_the_watch(tmp_path: Path) -> None:
    (tmp_path / "labels.jsonl").write_text('{"case": "a", "answer": "4", "score": 1}\n\n'
                                           '{"case": "a", "answer": "5", "score": 0.0}\n')

    config = load_config(with_judge(write(tmp_path, extra=JUDGED)))

    labels = config.judge_labels["support-watch"]
    assert [(label.case, label.answer, label.score, label.line) for label in labels] == [
        ("a", "4", 1.0, 1), ("a", "5", 0.0, 3)]


def test_judge_labels_without_a_judge_scorer_are_refused(tmp_path: Path) -> None:
    (tmp_path / "labels.jsonl").write_text('{"case": "a", "answer": "4", "score": 1}\n')

    with pytest.raises(ConfigError, match="no judge or pairwise_judge") as caught:
        load_config(write(tmp_path, extra=JUDGED))

    assert caught.value.field == "watches[0].drift.judge_labels"


@pytest.mark.parametrize(("content", "line", "message"), [
    ('{"case": "a", "answer": "4", "score": 1}\n{"case": "zz", "answer": "4", "score": 1}\n', 2,
     "case 'zz' is not in the watch's golden set"),
    ('{"case": "a", "answer": "4", "score": 1}\n{"case": "a", "answer": "5", "score": 7}\n', 2,
     "'score' must be a number from 0 to 1"),
    ('{"case": "a", "answer": "4", "score": 1}\n{"case": "a", "answer": "4", "score": 0}\n', 2,
     "labelled twice (also line 1)"),
    ('{"case": "a", "answer": "4", "score": 1}\nnot json\n', 2, "not a JSON object"),
    ('{"case": "a", "answer": "4", "score": 1, "verdict": "x"}\n', 1, "unknown key(s) verdict"),
    ('{"case": "a", "answer": "", "score": 1}\n', 1, "'answer' must be"),
    ('{"case": "a", "answer": "4", "score": 1, "production": "5"}\n', 1, "'production' is for a pairwise_judge"),
])
def test_a_bad_label_names_its_file_and_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    (tmp_path / "labels.jsonl").write_text(content)

    with pytest.raises(ConfigError) as caught:
        load_config(with_judge(write(tmp_path, extra=JUDGED)))

    assert caught.value.file == str(tmp_path / "labels.jsonl") and caught.value.line == line
    assert message in caught.value.reason


def test_csv_labels_are_read_and_checked_by_line(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("case,answer,score\na,4,1\na,5,0.3\n")
    config = load_config(with_judge(write(tmp_path, extra="    drift: {judge_labels: labels.csv}\n")))
    assert [label.score for label in config.judge_labels["support-watch"]] == [1.0, 0.3]

    (tmp_path / "labels.csv").write_text("case,answer,score\na,4,1\na,5,high\n")
    with pytest.raises(ConfigError) as caught:
        load_config(with_judge(write(tmp_path, extra="    drift: {judge_labels: labels.csv}\n")))
    assert caught.value.line == 3 and "'score'" in caught.value.reason


@pytest.mark.parametrize(("extra", "field"), [
    ("    drift: {reference_runs: 0}\n", "watches[0].drift.reference_runs"),
    ("    drift: {judge_every: -2}\n", "watches[0].drift.judge_every"),
    ("    drift: {keep_report_days: 30}\n", "watches[0].drift.keep_report_days"),
    ("    drift: {probe: {samples: 1}}\n", "watches[0].drift.probe.samples"),
    ("    drift: {probe: {temperature: 0}}\n", "watches[0].drift.probe.temperature"),
    ("    drift: {probe: {alpha: 0.5}}\n", "watches[0].drift.probe.alpha"),
    ("    drift: {probe: {permutations: 999}}\n", "watches[0].drift.probe"),  # 1 / 1000 is not below 0.001
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
