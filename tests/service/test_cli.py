"""The `turnout` command as a user runs it: a real process, a real database, real HTTP peers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers.openai_peer import OpenAIPeer


def turnout(*args: str, database_url: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TURNOUT_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "service.cli.main", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def test_apply_run_results_end_to_end(database_url: str, watch_file: Path,
                                      peers: tuple[OpenAIPeer, OpenAIPeer]) -> None:
    applied = turnout("apply", "-f", str(watch_file), database_url=database_url)
    assert applied.returncode == 0, applied.stderr
    assert "watch      qa-watch" in applied.stdout and "created" in applied.stdout
    again = turnout("apply", "-f", str(watch_file), database_url=database_url)
    assert again.stdout.strip().endswith("4 unchanged")

    ran = turnout("run", "qa-watch", "--json", database_url=database_url)
    assert ran.returncode == 0, ran.stderr
    cycle = json.loads(ran.stdout)
    assert set(cycle) >= {"cycle_id", "golden_set_version", "runs"}
    production, candidate = cycle["runs"]
    assert set(production) >= {"run_id", "model", "role", "n_cases", "n_errors", "score_mean", "scores",
                                "latency_p50_ms", "latency_p95_ms", "input_tokens", "output_tokens", "cost_usd"}
    assert (production["model"], production["role"], production["n_cases"]) == ("prod", "production", 4)
    assert candidate["role"] == "candidate" and candidate["scores"]["contains"] == pytest.approx(0.5)
    # per-segment intervals of the primary scorer: lang:en has paris, rome, broken; lang:fr has one case
    assert set(production["segments"]) == {"lang:en", "lang:fr"}
    assert production["segments"]["lang:en"]["n"] == 3
    assert production["segments"]["lang:en"]["mean"] == pytest.approx(2 / 3)
    en = candidate["segments"]["lang:en"]
    assert en["ci_low"] <= en["mean"] <= en["ci_high"] and en["mean"] == pytest.approx(1 / 3)

    compared = turnout("compare", str(production["run_id"]), str(candidate["run_id"]), "--json",
                       database_url=database_url)
    assert compared.returncode == 0, compared.stderr
    comparison = json.loads(compared.stdout)
    assert set(comparison) >= {"n_pairs", "difference", "ci_low", "ci_high", "p_value", "mcnemar_p",
                               "noninferiority_p", "min_detectable", "segments"}
    assert comparison["n_pairs"] == 4 and comparison["difference"] == pytest.approx(-0.25)   # Rome lost
    assert comparison["segments"]["lang:en"]["n_pairs"] == 3
    assert comparison["margin"] == 0.05 and comparison["scorer"] == "contains"

    shown = turnout("results", str(candidate["run_id"]), "--json", database_url=database_url)
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["run_id"] == candidate["run_id"] and document["model"] == "cand"
    rome = next(case for case in document["cases"] if case["case_id"] == "rome")
    assert rome["output"] == "Milan" and rome["scores"]["contains"] == 0.0
    assert set(rome) >= {"case_id", "output", "error", "attempts", "latency_ms", "ttft_ms", "input_tokens",
                         "output_tokens", "cost_usd", "scores"}

    table = turnout("run", "qa-watch", database_url=database_url)
    assert table.returncode == 0 and "prod" in table.stdout and "contains" in table.stdout


def test_exit_codes_and_messages(database_url: str, tmp_path: Path) -> None:
    usage = turnout("run", database_url=database_url)
    assert usage.returncode == 2 and "usage:" in usage.stderr
    bad = tmp_path / "turnout.yaml"
    bad.write_text("models:\n  - name: m\n    model: x\n    max_concurrency: many\n")
    failed = turnout("apply", "-f", str(bad), database_url=database_url)
    assert failed.returncode == 1
    assert f"{bad}:4: field 'models[0].max_concurrency'" in failed.stderr
    missing = turnout("run", "no-such-watch", database_url=database_url)
    assert missing.returncode == 1 and "no watch named 'no-such-watch'" in missing.stderr
    no_run = turnout("results", "999", "--json", database_url=database_url)
    assert no_run.returncode == 1 and "no run with id 999" in no_run.stderr


def test_an_unmigrated_database_says_to_upgrade(tmp_path: Path, watch_file: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = turnout("apply", "-f", str(watch_file), database_url=url)
    assert result.returncode == 1 and "turnout db upgrade" in result.stderr
    assert turnout("db", "upgrade", database_url=url).returncode == 0
    assert turnout("apply", "-f", str(watch_file), database_url=url).returncode == 0


def test_rescore_adds_a_scorer_without_calling_the_model(database_url: str, watch_file: Path,
                                                         peers: tuple[OpenAIPeer, OpenAIPeer]) -> None:
    turnout("apply", "-f", str(watch_file), database_url=database_url)
    cycle = json.loads(turnout("run", "qa-watch", "--json", database_url=database_url).stdout)
    run_id = cycle["runs"][0]["run_id"]
    sent = len(peers[0].requests)
    result = turnout("rescore", str(run_id), "--scorer", 'exact_match:{"ignore_case": true}',
                     database_url=database_url)
    assert result.returncode == 0, result.stderr
    assert "4 scores written" in result.stdout
    assert len(peers[0].requests) == sent
    document = json.loads(turnout("results", str(run_id), "--json", database_url=database_url).stdout)
    paris = next(case for case in document["cases"] if case["case_id"] == "paris")
    assert paris["scores"]['exact_match:{"ignore_case":true}'] == 1.0
    bad = turnout("rescore", str(run_id), "--scorer", "nope", database_url=database_url)
    assert bad.returncode == 1 and "unknown scorer 'nope'" in bad.stderr
    # and the added scorer, which the cycle's recipe does not have, can be compared on once both runs have it
    other = cycle["runs"][1]["run_id"]
    added = 'exact_match:{"ignore_case":true}'
    refused = turnout("compare", str(run_id), str(other), "--scorer", added, database_url=database_url)
    assert refused.returncode == 1 and f"run {other} has no scores for" in refused.stderr
    assert turnout("rescore", str(other), "--scorer", added, database_url=database_url).returncode == 0
    compared = turnout("compare", str(run_id), str(other), "--scorer", added, "--json", database_url=database_url)
    assert compared.returncode == 0, compared.stderr
    assert json.loads(compared.stdout)["scorer"] == added


def test_compare_across_golden_set_versions_pairs_only_the_shared_cases(
        database_url: str, watch_file: Path, peers: tuple[OpenAIPeer, OpenAIPeer]) -> None:
    # given a cycle on version 1 (paris, rome, fr, broken)
    turnout("apply", "-f", str(watch_file), database_url=database_url)
    first = json.loads(turnout("run", "qa-watch", "--json", database_url=database_url).stdout)
    # and a cycle on version 2, which drops paris and adds madrid
    cases = watch_file.parent / "qa.jsonl"
    kept = [line for line in cases.read_text().splitlines() if '"paris"' not in line]
    madrid = {"id": "madrid", "input": "Capital of Spain?\nANSWER: Madrid", "expected": "Madrid", "tags": ["lang:en"]}
    cases.write_text("".join(line + "\n" for line in [*kept, json.dumps(madrid)]))
    assert turnout("apply", "-f", str(watch_file), database_url=database_url).returncode == 0
    second = json.loads(turnout("run", "qa-watch", "--json", database_url=database_url).stdout)
    assert first["golden_set_version"] != second["golden_set_version"]
    # when production's run on version 1 is compared with the candidate's run on version 2
    compared = turnout("compare", str(first["runs"][0]["run_id"]), str(second["runs"][1]["run_id"]), "--json",
                       database_url=database_url)
    # then the pairs are the three cases both versions have (rome, fr, broken): paris and madrid are
    # left out as not in the other version, not counted as failures of the run that never had them
    assert compared.returncode == 0, compared.stderr
    comparison = json.loads(compared.stdout)
    assert comparison["n_pairs"] == 3 and comparison["left_out"] == {"not_in_other_version": 2}
    assert comparison["difference"] == pytest.approx(-1 / 3)   # the candidate still loses Rome
    table = turnout("compare", str(first["runs"][0]["run_id"]), str(second["runs"][1]["run_id"]),
                    database_url=database_url)
    assert "2 cases left out: not in the other version" in table.stdout
