"""The advisor end to end: cycles on local peers, recommendations stored with hysteresis, `turnout advise`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.openai_peer import OpenAIPeer
from tests.service.test_cli import turnout

CASES = [{"id": f"q{i}", "input": f"Question {i}?\nANSWER: A{i}", "expected": f"A{i}",
          "tags": ["lang:fr" if i % 3 == 0 else "lang:en"]} for i in range(30)]

CONFIG = """\
golden_sets:
  - {{name: qa, file: qa.jsonl, privacy: internal}}
models:
  - name: prod
    base_url: "{prod_url}"
    model: prod-model
    max_retries: 1
    timeout_s: 5
    hosting: api
    residency: us
    pricing: {{input_per_mtok: 10.0, output_per_mtok: 30.0}}
  - name: cand
    base_url: "{cand_url}"
    model: cand-model
    max_retries: 1
    timeout_s: 5
    hosting: self_hosted
    residency: eu
    pricing: {{gpu_hour: 2.49, gpus: 1, capacity_rps: 12}}
watches:
  - name: qa-watch
    golden_set: qa
    production: prod
    candidates: [cand]
    scorers: [{{name: contains}}]
    policy:
      margin: 0.35                    # 10 identical French pairs: exact bound 0.31 (no discordant pair)
      hysteresis: 2
      critical_segments: [lang:fr]
{volume}"""

VOLUME = "      volume: {requests_per_month: 2000000, peak_rps: 20, input_tokens: 400, output_tokens: 150}\n"


@pytest.fixture
def equal_peers() -> Iterator[tuple[OpenAIPeer, OpenAIPeer]]:
    with OpenAIPeer(models=["prod-model"]) as prod, OpenAIPeer(models=["cand-model"]) as cand:
        yield prod, cand


def write_config(tmp_path: Path, peers: tuple[OpenAIPeer, OpenAIPeer], *, volume: bool) -> Path:
    prod, cand = peers
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(case) + "\n" for case in CASES))
    path = tmp_path / "turnout.yaml"
    path.write_text(CONFIG.format(prod_url=prod.base_url, cand_url=cand.base_url, volume=VOLUME if volume else ""))
    return path


def test_an_equal_cheaper_candidate_is_announced_after_hysteresis_cycles_not_before(
        database_url: str, tmp_path: Path, equal_peers: tuple[OpenAIPeer, OpenAIPeer]) -> None:
    # Given a watch whose self-hosted candidate answers as production does, at a fraction of its cost
    path = write_config(tmp_path, equal_peers, volume=True)
    assert turnout("apply", "-f", str(path), database_url=database_url).returncode == 0

    # when a first cycle runs
    first = turnout("run", "qa-watch", "--json", database_url=database_url)
    assert first.returncode == 0, first.stderr
    one = json.loads(first.stdout)
    assert {"cycle_id", "runs"} <= set(one)  # the run's own keys stay
    rec1 = one["recommendation"]
    # then the cycle's own verdict is a switch, but it is not announced yet (1 of 2 cycles)
    assert (rec1["cycle_verdict"], rec1["cycle_to"]) == ("switch_advisable", "cand")
    assert (rec1["verdict"], rec1["to"], rec1["consecutive"], rec1["hysteresis"]) == ("stay", None, 1, 2)

    # when a second cycle runs
    second = turnout("run", "qa-watch", "--json", database_url=database_url)
    assert second.returncode == 0, second.stderr
    rec2 = json.loads(second.stdout)["recommendation"]
    # then the switch is announced, with the numbers: 2 replicas of 1 GPU, 2 x 2.49 x 730
    assert (rec2["verdict"], rec2["to"], rec2["consecutive"]) == ("switch_advisable", "cand", 2)
    assert rec2["cost"]["candidate_monthly_usd"] == pytest.approx(3635.4)
    assert rec2["cost"]["gpus_needed"] == 2
    assert rec2["quality"]["method"] == "tango" and rec2["quality"]["n_pairs"] == 30
    assert rec2["quality"]["segments"]["lang:fr"]["non_inferior"] is True
    assert set(rec2) >= {"watch", "cycle_id", "verdict", "cycle_verdict", "to", "consecutive", "hysteresis",
                         "reasons", "quality", "cost", "latency", "privacy", "candidates"}

    # and `turnout advise` shows the latest, a given cycle's, and the reasons in words
    latest = json.loads(turnout("advise", "qa-watch", "--json", database_url=database_url).stdout)
    assert latest == rec2
    earlier = json.loads(turnout("advise", "qa-watch", "--cycle", str(one["cycle_id"]), "--json",
                                 database_url=database_url).stdout)
    assert earlier == rec1
    text = turnout("advise", "qa-watch", database_url=database_url)
    assert text.returncode == 0, text.stderr
    assert "switch_advisable → cand" in text.stdout and "held 2 of 2" in text.stdout
    assert "lang:fr: candidate − production" in text.stdout

    # when the volume is removed from the policy and the latest cycle is re-advised without a new cycle
    path = write_config(tmp_path, equal_peers, volume=False)
    assert turnout("apply", "-f", str(path), database_url=database_url).returncode == 0
    again = turnout("advise", "qa-watch", "--recompute", "--json", database_url=database_url)
    assert again.returncode == 0, again.stderr
    rec3 = json.loads(again.stdout)
    # then there is no reason to move for cost, so that cycle's verdict is stay, and nothing is announced
    assert rec3["cycle_id"] == rec2["cycle_id"]
    assert (rec3["cycle_verdict"], rec3["verdict"], rec3["consecutive"]) == ("stay", "stay", 1)
    assert any("no policy.volume" in reason for reason in rec3["reasons"])


def test_advise_names_the_watch_when_there_is_nothing_to_show(database_url: str, tmp_path: Path,
                                                              equal_peers: tuple[OpenAIPeer, OpenAIPeer]) -> None:
    path = write_config(tmp_path, equal_peers, volume=True)
    assert turnout("apply", "-f", str(path), database_url=database_url).returncode == 0

    shown = turnout("advise", "qa-watch", database_url=database_url)

    assert shown.returncode == 1
    assert "no recommendation for watch 'qa-watch'" in shown.stderr


def test_refusals_the_refusal_scorer_finds_are_failures_named_in_the_reasons(
        database_url: str, tmp_path: Path) -> None:
    # Given a candidate that refuses every French question, on a watch that also scores with `refusal`
    def refuses_french(messages: list[dict[str, object]]) -> str:
        text = str(messages[-1]["content"])
        number = int(text.split("?")[0].rsplit(" ", 1)[-1])
        return "I'm sorry, but I can't help with that." if number % 3 == 0 else text.rsplit("ANSWER: ", 1)[-1]

    with OpenAIPeer(models=["prod-model"]) as prod, OpenAIPeer(answer=refuses_french, models=["cand-model"]) as cand:
        path = write_config(tmp_path, (prod, cand), volume=True)
        path.write_text(path.read_text().replace("scorers: [{name: contains}]",
                                                 "scorers: [{name: contains, primary: true}, {name: refusal}]"))
        assert turnout("apply", "-f", str(path), database_url=database_url).returncode == 0
        # when a cycle runs
        ran = turnout("run", "qa-watch", "--json", database_url=database_url)
    assert ran.returncode == 0, ran.stderr
    recommendation = json.loads(ran.stdout)["recommendation"]
    # then the ten refused French cases are the candidate's failures, said so, and it is not advised
    reasons = " ".join(recommendation["reasons"] + [r for c in recommendation["candidates"] for r in c["reasons"]])
    assert "10 refusals" in reasons, reasons
    assert recommendation["cycle_verdict"] != "switch_advisable"
