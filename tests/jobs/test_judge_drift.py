"""Judge drift through whole cycles, with the OpenAI peer as the judge: a judge that keeps its verdicts is
`stable`, a judge whose verdicts change is `drifted` with the kappa reason, and the judge cache (which
answers the scoring step) does not hide it: the re-judging reaches the judge.

Real SDK against the peers, real SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from evals.config import load_config
from jobs import pipeline
from jobs.drift import drift_document
from service.cli.main import main
from service.storage import catalog
from service.storage.db import session_scope
from service.storage.judge_drift_tables import JudgeDriftRow, JudgeReferenceRow
from tests.peers.openai_peer import Messages, OpenAIPeer, last_user_text

N_CASES = 12
CASES = [{"id": f"q{i}", "input": f"Question {i}?\nANSWER: Answer {i}", "expected": f"Answer {i}"}
         for i in range(N_CASES)]

CONFIG = """\
golden_sets:
  - {{name: judged, file: cases.jsonl, privacy: internal}}
models:
  - {{name: prod, base_url: "{prod_url}", model: prod-model, params: {{temperature: 0}}, max_retries: 0,
     timeout_s: 5, hosting: api}}
  - {{name: judge, base_url: "{judge_url}", model: judge-model, params: {{temperature: 0}}, max_retries: 0,
     timeout_s: 5, hosting: api}}
watches:
  - name: judged-watch
    golden_set: judged
    production: prod
    scorers: [{{name: contains, primary: true}}, {{name: judge, options: {{model: judge}}}}]
    drift: {{judge_every: {every}{labels}}}
"""


def verdict_by(shift: int) -> Callable[[Messages], str]:
    """A judge whose score depends on the answer judged: case i gets ((i + shift) % 4) * 3 of 10."""

    def answer(messages: Messages) -> str:
        found = re.findall(r"Answer (\d+)", last_user_text(messages))
        number = int(found[-1]) if found else 0
        return json.dumps({"score": ((number + shift) % 4) * 3, "explanation": "as judged"})

    return answer


@pytest.fixture
def peers() -> Iterator[tuple[OpenAIPeer, OpenAIPeer]]:
    with OpenAIPeer(models=["prod-model"]) as prod, OpenAIPeer(models=["judge-model"], answer=verdict_by(0)) as judge:
        yield prod, judge


def declare(tmp_path: Path, peers: tuple[OpenAIPeer, OpenAIPeer], *, every: int = 1, labels: str = "") -> None:
    prod, judge = peers
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(case) + "\n" for case in CASES))
    (tmp_path / "turnout.yaml").write_text(CONFIG.format(prod_url=prod.base_url, judge_url=judge.base_url,
                                                         every=every, labels=labels))
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(tmp_path / "turnout.yaml"))


def cycle() -> dict[str, object]:
    cycle_id = pipeline.start_cycle(watch="judged-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
    entries = [entry for entry in drift_document(watch="judged-watch", cycle_id=cycle_id)["models"]
               if entry.get("role") == "judge"]
    assert len(entries) == 1 and entries[0]["model"] == "judge"
    return entries[0]


def test_a_stable_judge_stays_stable_and_a_changed_one_drifts_past_the_cache(
        database_url: str, tmp_path: Path, peers: tuple[OpenAIPeer, OpenAIPeer],
        capsys: pytest.CaptureFixture[str]) -> None:
    _, judge = peers
    declare(tmp_path, peers)
    # the first cycle pins the judge's own verdicts on every case (fewer than the sample size)
    first = cycle()
    assert first["verdict"] == "stable" and first["judge_kappa"] is None
    assert [reason["kind"] for reason in first["reasons"]] == ["judge_pinned"]  # type: ignore[attr-defined]
    assert first["judge_n_verdicts"] == N_CASES and len(judge.requests) == N_CASES
    # when the next cycle runs against the same judge: scoring is answered by the judge cache, so every
    # call the judge receives is a re-judging of a pinned verdict
    second = cycle()
    assert len(judge.requests) == 2 * N_CASES
    assert second["verdict"] == "stable" and second["reasons"] == []
    assert second["judge_kappa"] == pytest.approx(1.0) and second["judge_reference_kappa"] == 1.0
    # when the judge's verdicts change (same answers, so scoring still hits the cache)
    judge.answer = verdict_by(1)
    third = cycle()
    # then the re-judging reached it and the judge drifted, with kappa far below its reference
    assert len(judge.requests) == 3 * N_CASES
    assert third["verdict"] == "drifted"
    assert [reason["kind"] for reason in third["reasons"]] == ["judge_kappa"]  # type: ignore[attr-defined]
    assert third["judge_ci_high"] < 1.0 and third["judge_kappa"] < 0.2  # type: ignore[operator]
    assert "judge judge: kappa" in third["reasons"][0]["message"]  # type: ignore[index]
    # and `turnout drift --json` prints judge_kappa for the judge
    capsys.readouterr()
    assert main(["drift", "judged-watch", "--json"]) == 0
    printed = {entry["model"]: entry for entry in json.loads(capsys.readouterr().out)["models"]}
    assert printed["judge"]["judge_kappa"] == pytest.approx(third["judge_kappa"])
    assert printed["prod"]["judge_kappa"] is None
    with session_scope() as session:
        assert len(session.exec(select(JudgeReferenceRow)).all()) == 1
        assert [row.verdict for row in session.exec(select(JudgeDriftRow).order_by(JudgeDriftRow.id)).all()] == [
            "stable", "stable", "drifted"]


def test_the_pinned_verdicts_are_rejudged_every_judge_every_cycles(
        database_url: str, tmp_path: Path, peers: tuple[OpenAIPeer, OpenAIPeer]) -> None:
    _, judge = peers
    declare(tmp_path, peers, every=2)
    cycle()
    asked = len(judge.requests)
    # one cycle later nothing is due: the judge entry is still the pinning cycle's
    second = cycle()
    assert len(judge.requests) == asked and second["judge_kappa"] is None
    # two cycles later the set is judged again
    third = cycle()
    assert len(judge.requests) == asked + N_CASES and third["judge_kappa"] == pytest.approx(1.0)


def test_user_labels_are_the_reference_and_their_first_judging_sets_its_kappa(
        database_url: str, tmp_path: Path, peers: tuple[OpenAIPeer, OpenAIPeer]) -> None:
    _, judge = peers
    # a person labelled 8 answers; they agree with the judge on 6 of them
    lines = [{"case": f"q{i}", "answer": f"Answer {i}", "score": ((i % 4) * 3) / 10 if i < 6 else 1.0}
             for i in range(8)]
    (tmp_path / "labels.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    declare(tmp_path, peers, labels=", judge_labels: labels.jsonl")
    first = cycle()
    # the labels are judged at once, past the judge cache
    assert first["judge_reference"] == "labels" and first["verdict"] == "stable"
    assert first["judge_n_verdicts"] == 8 and first["judge_kappa"] is not None
    assert first["judge_reference_kappa"] == pytest.approx(first["judge_kappa"])
    # a judge that changes its verdicts drifts against the labels' reference
    judge.answer = verdict_by(2)
    second = cycle()
    assert second["verdict"] == "drifted" and second["judge_kappa"] < first["judge_kappa"]  # type: ignore[operator]
    assert judge.requests  # the judging reached the judge
