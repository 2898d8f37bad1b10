"""A whole cycle through the pipeline functions: real SDK, real HTTP peers, real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlmodel import select

from evals.cases import Case
from evals.results import Completion, Score
from evals.scoring.registry import ScorerSpec, scorer
from jobs import pipeline
from service.storage import results, runs
from service.storage.db import session_scope
from service.storage.summary import cycle_summary
from service.storage.tables import CompletionRow, ScoreRow
from tests.peers.openai_peer import OpenAIPeer

SEEN_PAIRS: list[tuple[str, str | None, str | None]] = []


@scorer("test_sees_production")
def sees_production() -> object:
    """Records which production answer a candidate's completion was scored beside."""

    async def score(case: Case, completion: Completion, production: Completion | None = None) -> Score:
        SEEN_PAIRS.append((case.id, completion.output, production.output if production else None))
        return Score(value=1.0)

    return score


def run_whole_cycle() -> int:
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
    return cycle_id


def test_a_cycle_stores_completions_scores_and_costs(applied: Path, peers: tuple[OpenAIPeer, OpenAIPeer]) -> None:
    # when the watch runs one cycle
    cycle_id = run_whole_cycle()
    with session_scope() as session:
        summary = cycle_summary(session, cycle_id=cycle_id).model_dump(mode="json")
        prod_run = summary["runs"][0]
        prod_cases = {c["case_id"]: c for c in
                      results.run_results(session, run_id=prod_run["run_id"]).model_dump(mode="json")["cases"]}
        cand_run = results.run_results(session, run_id=summary["runs"][1]["run_id"])
        cand_cases = {c["case_id"]: c for c in cand_run.model_dump(mode="json")["cases"]}
    # then both runs are stored with every case once, the refused case as data
    assert [(r["model"], r["role"], r["n_cases"], r["n_errors"]) for r in summary["runs"]] == [
        ("prod", "production", 4, 1), ("cand", "candidate", 4, 1)]
    assert prod_cases["broken"]["output"] is None and "400" in prod_cases["broken"]["error"]
    assert prod_cases["broken"]["attempts"] == 1  # a 400 is not retried
    assert prod_cases["paris"]["output"] == "Paris"
    assert prod_cases["paris"]["input_tokens"] > 0 and prod_cases["paris"]["output_tokens"] > 0
    assert prod_cases["paris"]["ttft_ms"] <= prod_cases["paris"]["latency_ms"]
    # the primary scorer (contains) counts the failed case as a failure: 3 of 4
    assert summary["primary_scorer"] == "contains"
    assert prod_run["score_mean"] == pytest.approx(0.75)
    assert summary["runs"][1]["score_mean"] == pytest.approx(0.5)       # Milan for Rome
    assert cand_cases["rome"]["scores"] == {"exact_match": 0.0, "contains": 0.0}
    # cost follows the model's pricing, per completion, per run and per cycle
    paris = prod_cases["paris"]
    assert paris["cost_usd"] == pytest.approx((paris["input_tokens"] * 1000 + paris["output_tokens"] * 2000) / 1e6)
    assert prod_run["cost_usd"] == pytest.approx(sum(c["cost_usd"] or 0 for c in prod_cases.values()))
    assert summary["cost_usd"] == pytest.approx(prod_run["cost_usd"])   # the candidate has no prices
    assert summary["state"] == "finished"
    # the model's request carried the watch's params, and nothing was sent twice
    prod_peer, _ = peers
    assert {r["temperature"] for r in prod_peer.requests} == {0}
    assert len(prod_peer.requests) == 4


def test_replaying_again_sends_nothing_for_stored_cases(applied: Path, peers: tuple[OpenAIPeer, OpenAIPeer]) -> None:
    prod_peer, _ = peers
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="manual")
    with session_scope() as session:
        run_id = runs.cycle_runs(session, cycle_id=cycle_id)[0].id
        first_two = runs.plan_replay(session, run_id=run_id).todo[:2]
        # given two cases already answered (as after a worker died mid-run)
        results.save_completions(session, run_id=run_id, completions=[
            Completion(case_id=item.case.id, output="stored before") for item, _ in first_two])
    # when the run is replayed, twice
    asyncio.run(pipeline.replay_run(run_id))
    asyncio.run(pipeline.replay_run(run_id))
    # then the peer saw only the two missing cases, and each case is stored once
    asked = sorted(r["messages"][-1]["content"].split("\n")[0] for r in prod_peer.requests)
    assert asked == ["Capitale de l'Allemagne ?", "This request is refused."]
    with session_scope() as session:
        rows = session.exec(select(CompletionRow).where(CompletionRow.run_id == run_id)).all()
        assert len(rows) == 4
        assert sum(row.output == "stored before" for row in rows) == 2
        assert runs.get_run(session, run_id=run_id).state == "finished"


def test_completions_are_stored_by_case_id_and_an_unknown_case_is_refused(applied: Path) -> None:
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="manual")
    with session_scope() as session:
        run_id = runs.cycle_runs(session, cycle_id=cycle_id)[0].id
        # when a batch names a case the golden set does not have
        with pytest.raises(runs.NotFound, match="without case\\(s\\) 'tokyo'"):
            results.save_completions(session, run_id=run_id, completions=[
                Completion(case_id="paris", output="Paris"), Completion(case_id="tokyo", output="Tokyo")])
    with session_scope() as session:
        # then nothing of it is stored; a batch of known cases is stored against their rows
        assert results.save_completions(session, run_id=run_id, completions=[
            Completion(case_id="rome", output="Rome"), Completion(case_id="fr", output="Berlin")]) == 2
        todo = {(item.case.id, repetition) for item, repetition in runs.plan_replay(session, run_id=run_id).todo}
        assert todo == {("paris", 0), ("broken", 0)}
        assert len(session.exec(select(CompletionRow).where(CompletionRow.run_id == run_id)).all()) == 2


def test_scoring_twice_writes_nothing_new_and_candidates_see_production(applied: Path) -> None:
    SEEN_PAIRS.clear()
    cycle_id = run_whole_cycle()
    spec = ScorerSpec(name="test_sees_production")
    assert asyncio.run(pipeline.score_cycle(cycle_id, specs=[spec])) == 8
    assert asyncio.run(pipeline.score_cycle(cycle_id, specs=[spec])) == 0   # idempotent
    beside_production = {case_id: (mine, theirs) for case_id, mine, theirs in SEEN_PAIRS if theirs is not None}
    assert beside_production == {"paris": ("Paris", "Paris"), "rome": ("Milan", "Rome"), "fr": ("Berlin", "Berlin")}
    assert ("rome", "Rome", None) in SEEN_PAIRS          # production is scored without a partner
    with session_scope() as session:
        stored = session.exec(select(ScoreRow).where(ScoreRow.scorer_name == "test_sees_production")).all()
        assert len(stored) == 8 and {row.scorer_version for row in stored} == {"1"}


def test_a_model_whose_key_is_missing_fails_its_run_with_the_reason(
        applied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keyed = "hosting: self_hosted\n    api_key_env: TURNOUT_TEST_NO_SUCH_KEY"
    applied.write_text(applied.read_text().replace("hosting: self_hosted", keyed))
    monkeypatch.delenv("TURNOUT_TEST_NO_SUCH_KEY", raising=False)
    from evals.config import load_config
    from service.storage import catalog
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(applied))
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"   # production still ran
    with session_scope() as session:
        summary = cycle_summary(session, cycle_id=cycle_id).model_dump(mode="json")
    candidate = summary["runs"][1]
    assert candidate["state"] == "failed"
    assert "TURNOUT_TEST_NO_SUCH_KEY" in candidate["reason"] and "not set" in candidate["reason"]
    assert summary["runs"][0]["state"] == "finished"


def test_a_vllm_candidate_is_replayed_in_one_batched_call(applied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evals.config import load_config
    from jobs import gpu
    from service.storage import catalog
    from tests.peers.vllm_standin import FakeVllm

    # given the candidate declared as an in-process vLLM model (vLLM itself replaced by its stand-in)
    fake = FakeVllm()
    monkeypatch.setattr(gpu, "vllm_api", lambda: gpu.VllmApi(llm=fake.llm, sampling_params=fake.sampling_params,
                                                             lora_request=fake.lora_request))
    gpu.clear_engines()
    text = applied.read_text()
    start = text.index("  - name: cand")
    end = text.index("watches:")
    applied.write_text(text[:start] + "  - {name: cand, kind: vllm, model: org/open-model, hosting: self_hosted,"
                       " params: {max_tokens: 64}, options: {dtype: bfloat16}}\n" + text[end:])
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(applied))
    # when the cycle runs
    cycle_id = run_whole_cycle()
    # then the run was one chat call with every case, and its answers were stored and scored
    assert len(fake.engines) == 1 and len(fake.engines[0].calls) == 1
    assert len(fake.engines[0].calls[0].messages) == 4
    assert fake.engines[0].calls[0].sampling_params.max_tokens == 64
    with session_scope() as session:
        summary = cycle_summary(session, cycle_id=cycle_id).model_dump(mode="json")
    candidate = summary["runs"][1]
    assert (candidate["model"], candidate["n_cases"], candidate["state"]) == ("cand", 4, "finished")
    # the stand-in answers the three ANSWER: lines and echoes the fourth case, whose expected "x" it lacks
    assert candidate["scores"]["contains"] == pytest.approx(0.75)
    gpu.clear_engines()


def test_a_judge_scorer_uses_a_declared_model_and_its_verdicts_are_cached(
        applied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evals.config import load_config
    from service.settings import get_settings
    from service.storage import catalog

    monkeypatch.setenv("TURNOUT_SCORE_CONCURRENCY", "1")   # one judge call at a time: cache hits are certain
    get_settings.cache_clear()
    # given a judge model (a third peer answering in the judge's JSON) and a watch scored by it
    with OpenAIPeer(models=["judge-model"], answer=lambda messages: '{"score": 8, "explanation": "close"}') as judge:
        text = applied.read_text().replace("watches:", f"""  - name: judge
    base_url: "{judge.base_url}"
    model: judge-model
    params: {{temperature: 0}}
    hosting: self_hosted
watches:""").replace("{name: contains, primary: true}]", "{name: contains, primary: true}, "
                                                      "{name: judge, options: {model: judge}}]")
        applied.write_text(text)
        with session_scope() as session:
            catalog.apply_config(session, config=load_config(applied))
        # when a cycle runs, then is scored again from scratch
        cycle_id = run_whole_cycle()
        asked = len(judge.requests)
        spec = ScorerSpec(name="judge", options={"model": "judge"})
        rescored = asyncio.run(pipeline.score_cycle(cycle_id, specs=[spec], force=True))
    # then each distinct (case, answer) was judged once: 6 answered completions, but production and the
    # candidate gave the same answer for paris and fr, which the cache serves; the re-score asks nothing new
    assert asked == 4
    assert rescored == 8 and len(judge.requests) == asked
    with session_scope() as session:
        rows = session.exec(select(ScoreRow).where(ScoreRow.scorer_name == "judge")).all()
    values = sorted(row.value for row in rows if row.value is not None)
    assert values == [0.0, 0.0] + [0.8] * 6
    assert {row.details.get("judge_model") for row in rows if row.value == 0.8} == {"judge"}


def test_a_cycle_over_its_budget_stops_and_fails_with_reason_budget(applied: Path) -> None:
    from evals.config import load_config
    from service.storage import catalog

    # given a watch whose budget covers one request's estimate (prompt + max_tokens at $1000/$2000 per Mtok)
    # and not four answers
    applied.write_text(applied.read_text().replace('    schedule: "0 6 * * *"', '    schedule: "0 6 * * *"\n'
                                                   '    budget_usd: 0.09'))
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(applied))
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    # when it runs
    assert asyncio.run(pipeline.run_cycle(cycle_id)) == "failed"
    with session_scope() as session:
        summary = cycle_summary(session, cycle_id=cycle_id).model_dump(mode="json")
        stored = session.exec(select(CompletionRow)).all()
    # then it stopped sending before the budget was passed, kept what it had, and says why
    assert summary["reason"].startswith("budget") and summary["failure_kind"] == "budget"
    production = summary["runs"][0]
    assert production["state"] == "failed" and production["reason"].startswith("budget")
    assert production["failure_kind"] == "budget"
    assert 0 < production["n_cases"] < 4
    assert summary["cost_usd"] <= 0.09
    assert len(stored) == production["n_cases"] + summary["runs"][1]["n_cases"]


def test_a_vllm_run_whose_budget_does_not_cover_its_gpu_time_is_stopped_with_reason_budget(
        applied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evals.config import load_config
    from jobs import gpu
    from service.storage import catalog
    from tests.peers.vllm_standin import FakeVllm

    fake = FakeVllm()
    monkeypatch.setattr(gpu, "vllm_api", lambda: gpu.VllmApi(llm=fake.llm, sampling_params=fake.sampling_params,
                                                             lora_request=fake.lora_request))
    gpu.clear_engines()
    # given a vLLM candidate at $1 per GPU-second serving 1 case/s ($1 a case before it runs), and a
    # watch budget of $0.50, which covers production's four answers and not one of the candidate's
    text = applied.read_text()
    start, end = text.index("  - name: cand"), text.index("watches:")
    applied.write_text(text[:start] + "  - {name: cand, kind: vllm, model: org/open-model, hosting: self_hosted,"
                       " pricing: {gpu_hour: 3600.0, gpus: 1, capacity_rps: 1.0}}\n" + text[end:].replace(
                           '    schedule: "0 6 * * *"', '    schedule: "0 6 * * *"\n    budget_usd: 0.5'))
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(applied))
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    # when the cycle runs
    assert asyncio.run(pipeline.run_cycle(cycle_id)) == "failed"
    with session_scope() as session:
        summary = cycle_summary(session, cycle_id=cycle_id).model_dump(mode="json")
    # then the candidate's run was refused before its engine was even loaded, and says why
    production, candidate = summary["runs"]
    assert (candidate["state"], candidate["n_cases"]) == ("failed", 0)
    assert candidate["reason"].startswith("budget") and summary["reason"].startswith("budget")
    assert fake.engines == []
    assert production["state"] == "finished" and summary["cost_usd"] <= 0.5
    gpu.clear_engines()


def test_the_analysis_step_stores_latency_percentiles(applied: Path) -> None:
    from evals.metrics import percentile
    from service.storage.tables import RunRow

    # when a cycle runs
    cycle_id = run_whole_cycle()
    with session_scope() as session:
        summary = cycle_summary(session, cycle_id=cycle_id)
        production = summary.runs[0]
        latencies = [c.latency_ms for c in results.run_results(session, run_id=production.run_id).cases
                     if c.latency_ms is not None]
        stored = session.get(RunRow, production.run_id)
    # then the run row holds the percentiles of its answered completions, and the summary reads them
    assert stored is not None and stored.latency_p50_ms == percentile(latencies, 50) is not None
    assert (production.latency_p50_ms, production.latency_p95_ms) == (stored.latency_p50_ms, stored.latency_p95_ms)
