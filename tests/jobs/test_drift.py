"""Drift through whole cycles against the OpenAI peer at temperature 0: unchanged is `stable`,
each planted change is `drifted` with its reason, and the stored snapshot renders to HTML."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlmodel import select

from evals.drift.report import render_html
from evals.drift.timing_drift import FACTOR
from evals.drift.verdict import FIRST_RUN
from evals.errors import BadReference
from jobs.drift import snapshot_json
from service.storage import advice, drift, runs
from service.storage.alert_tables import AlertRow
from service.storage.db import session_scope
from service.storage.drift_tables import DriftPinRow
from tests.jobs.drift_watch import declare_watch, drift_cycle
from tests.peers.openai_peer import OpenAIPeer, default_answer

CASES = [{"id": f"{lang}{i}", "input": f"Question {i} [{lang}]?\nANSWER: Answer {i} in {lang}",
          "expected": f"Answer {i}", "tags": [f"lang:{lang}"]} for lang in ("en", "fr") for i in range(20)]

CONFIG = """\
golden_sets:
  - {{name: drift-set, file: cases.jsonl, privacy: internal}}
models:
  - {{name: prod, base_url: "{url}", model: peer-model, params: {{temperature: 0}}, max_retries: 1, timeout_s: 5,
     hosting: api}}
watches:
  - {{name: drift-watch, golden_set: drift-set, production: prod, scorers: [contains]}}
"""


@pytest.fixture
def peer() -> Iterator[OpenAIPeer]:
    with OpenAIPeer() as server:
        yield server


@pytest.fixture
def drift_watch(database_url: str, tmp_path: Path, peer: OpenAIPeer) -> OpenAIPeer:
    declare_watch(tmp_path, config=CONFIG.format(url=peer.base_url), cases=CASES)
    return peer


cycle = partial(drift_cycle, "drift-watch")


def test_an_unchanged_endpoint_stays_stable_cycle_after_cycle(drift_watch: OpenAIPeer) -> None:
    # the first cycle is the reference
    _, first = cycle()
    assert first["verdict"] == "stable" and [r["message"] for r in first["reasons"]] == [FIRST_RUN]
    # then, cycle after cycle, nothing changes and nothing alarms
    for _ in range(3):
        _, document = cycle()
        assert document["verdict"] == "stable", document["reasons"]
        assert document["output_change_rate"] == 0.0 and document["score_change"] == 0.0
        # a local server's latency does move between cycles; what the model answered does not
        assert not set(document["drifted_columns"]) - {"latency_ms", "ttft_ms"}


def _french_wrong(messages: list[dict[str, object]]) -> str:
    answer = default_answer(messages)  # type: ignore[arg-type]
    return "Je ne sais pas" if "[fr]" in str(messages[-1]["content"]) else answer


def _longer(messages: list[dict[str, object]]) -> str:
    return default_answer(messages) + ". And here is a much longer explanation of the answer, at length."  # type: ignore[arg-type]


@pytest.mark.parametrize(("plant", "kind"), [
    (lambda peer: setattr(peer, "answer", _french_wrong), "segment_score"),
    (lambda peer: setattr(peer, "fingerprint", "fp_peer_0002"), "fingerprint"),
    (lambda peer: setattr(peer, "answer", _longer), "output_change"),
])
def test_a_planted_change_drifts_with_its_reason(drift_watch: OpenAIPeer, plant: Callable[[OpenAIPeer], None],
                                                 kind: str) -> None:
    cycle()
    cycle()
    plant(drift_watch)

    cycle_id, document = cycle()

    assert document["verdict"] == "drifted"
    assert kind in {reason["kind"] for reason in document["reasons"]}
    # and the advisor names the drifted production model in its reasons
    with session_scope() as session:
        recommendation = advice.recommendation(session, watch_name="drift-watch")
    assert any(reason.startswith("production prod drifted: ") for reason in recommendation.document["reasons"])
    # and the production model's drift is an alert of its own, in the outbox
    with session_scope() as session:
        (alert,) = session.exec(select(AlertRow).where(AlertRow.cycle_id == cycle_id)).all()
    assert alert.kind == "drift" and all(line.startswith("prod: ") for line in alert.payload["drift"])
    assert alert.payload["drift"]


def test_longer_outputs_drift_in_the_evidently_report_which_renders_to_html(drift_watch: OpenAIPeer) -> None:
    cycle()
    drift_watch.answer = _longer

    cycle_id, document = cycle()

    assert "output_length" in document["drifted_columns"]
    html = render_html(snapshot_json(watch="drift-watch", cycle_id=cycle_id, model="prod"))
    assert "<html" in html.lower() and "output_length" in html


def test_a_twice_slower_endpoint_drifts_in_its_timing_columns(drift_watch: OpenAIPeer) -> None:
    # Given an endpoint answering in 200 ms, twice
    drift_watch.latency_s = 0.2
    cycle()
    _, document = cycle()
    assert not document["drifted_columns"], document["columns"]
    # when it takes twice as long, answering as before
    drift_watch.latency_s = 0.4

    _, document = cycle()

    # then both timing columns drift, by the factor they changed by (the few ms of the local server's own
    # time make it a little less than 2); nothing else does
    assert document["drifted_columns"] == ["latency_ms", "ttft_ms"], document["columns"]
    for column in ("latency_ms", "ttft_ms"):
        found = document["columns"][column]
        assert found["test"] == "turnout_latency_factor" and found["threshold"] == FACTOR
        assert FACTOR <= found["value"] <= 2.1, found
    assert document["output_change_rate"] == 0.0


OTHER = """\
golden_sets:
  - {{name: other-set, file: other.jsonl, privacy: internal}}
models:
  - {{name: prod, base_url: "{url}", model: peer-model, params: {{temperature: 0}}, max_retries: 1, timeout_s: 5,
     hosting: api}}
watches:
  - {{name: other-watch, golden_set: other-set, production: prod, scorers: [contains]}}
"""


def test_a_run_of_another_golden_set_cannot_be_pinned(drift_watch: OpenAIPeer, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from evals.config import load_config
    from service.cli.main import main
    from service.storage import catalog

    (tmp_path / "other.jsonl").write_text(json.dumps({"id": "x", "input": "Q?\nANSWER: A", "expected": "A"}) + "\n")
    (tmp_path / "other.yaml").write_text(OTHER.format(url=drift_watch.base_url))
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(tmp_path / "other.yaml"))
    cycle()
    other, _ = drift_cycle("other-watch")
    with session_scope() as session:
        run_id = runs.cycle_runs(session, cycle_id=other)[0].id
    capsys.readouterr()

    assert main(["drift", "drift-watch", "--pin", str(run_id)]) == 1

    err = capsys.readouterr().err
    assert f"run {run_id} replayed another golden set than watch 'drift-watch'" in err and "--pin" in err
    with session_scope() as session:  # and nothing was pinned
        assert session.exec(select(DriftPinRow)).all() == []


def test_a_pinned_reference_with_no_answered_case_is_refused(drift_watch: OpenAIPeer) -> None:
    cycle_id, _ = cycle()
    with session_scope() as session:
        run = runs.cycle_runs(session, cycle_id=cycle_id)[0]
        run.n_errors = run.n_done
        session.add(run)
    with pytest.raises(BadReference, match="has no answered case"), session_scope() as session:
        drift.pin_reference(session, watch_name="drift-watch", run_id=run.id or 0)


def test_the_cli_prints_the_verdicts_and_writes_the_report(drift_watch: OpenAIPeer, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli.main import main

    cycle()
    drift_watch.fingerprint = "fp_peer_0002"
    cycle_id, _ = cycle()
    capsys.readouterr()

    assert main(["drift", "drift-watch", "--json", "--html", str(tmp_path / "report.html")]) == 0

    document = json.loads(capsys.readouterr().out)
    assert (document["watch"], document["cycle_id"]) == ("drift-watch", cycle_id)
    (item,) = document["models"]
    keys = {"model", "verdict", "reasons", "score_change", "ci_low", "ci_high", "output_change_rate",
            "expected_change_rate", "fingerprint_changed", "probe_p", "drift_share", "judge_kappa"}
    assert keys <= item.keys() and (item["model"], item["verdict"], item["fingerprint_changed"]) == (
        "prod", "drifted", True)
    assert "output_length" in (tmp_path / "report.html").read_text()


def test_a_pinned_run_is_the_reference(drift_watch: OpenAIPeer, capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli.main import main

    first, _ = cycle()
    cycle()
    with session_scope() as session:
        pinned = runs.cycle_runs(session, cycle_id=first)[0].id

    assert main(["drift", "drift-watch", "--pin", str(pinned)]) == 0
    _, document = cycle()

    assert document["reference_run_ids"] == [pinned]


def test_a_module_of_ours_missing_fails_the_step_rather_than_passing_for_the_missing_extra(
        drift_watch: OpenAIPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from jobs.drift import check_cycle_drift

    cycle()
    cycle_id, _ = cycle()
    monkeypatch.setitem(sys.modules, "evals.drift.timing_drift", None)  # as if the file were not installed

    with pytest.raises(ImportError, match="evals.drift.timing_drift"):
        check_cycle_drift(cycle_id)


def test_old_snapshots_are_pruned_and_their_scalars_stay(drift_watch: OpenAIPeer) -> None:
    from datetime import timedelta

    from jobs.drift import prune_reports
    from service.storage.drift_tables import DriftRow
    from service.storage.tables import utcnow

    cycle()
    cycle_id, _ = cycle()
    with session_scope() as session:
        (_, row), = drift.drift_rows(session, watch_name="drift-watch", cycle_id=cycle_id)[1]
        row.created_at = utcnow() - timedelta(days=91)
        session.add(row)
        watch_id = row.watch_id

    assert prune_reports(watch_id=watch_id, keep_days=90) == 1

    with session_scope() as session:
        kept = session.get(DriftRow, row.id)
        assert kept is not None and kept.report_key is None and kept.verdict == "stable"
    with pytest.raises(runs.NotFound, match="pruned"):
        snapshot_json(watch="drift-watch", cycle_id=cycle_id, model="prod")
