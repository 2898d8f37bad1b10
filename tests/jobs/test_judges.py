"""Judges are models like the others: limits, cost, budget, privacy, retries, and what could not be scored.

Real SDK against the OpenAI-compatible peer, real SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select

from evals.config import load_config
from evals.models import ModelSpec
from jobs import pipeline
from jobs.ratelimit import LimitsHub
from service.cli.main import main
from service.storage import catalog, runs
from service.storage.db import session_scope
from service.storage.summary import cycle_summary
from service.storage.tables import ComparisonRow, CycleRow, ScoreRow
from tests.peers.openai_peer import Messages, OpenAIPeer

JUDGE_SPEC = '{name: judge, options: {model: judge}}'
VERDICT = '{"score": 8, "explanation": "close"}'


def declare_judge(path: Path, judge: OpenAIPeer, *, extra: str = "", scored: bool = True, watch: str = "") -> None:
    """Add model `judge` on the peer to turnout.yaml (and, with *scored*, a judge scorer to the watch); apply it."""
    text = path.read_text().replace("watches:", f"""  - name: judge
    base_url: "{judge.base_url}"
    model: judge-model
    params: {{temperature: 0}}
    max_retries: 0
    timeout_s: 5
{extra}watches:""")
    if scored:
        text = text.replace("{name: contains, primary: true}]", "{name: contains, primary: true}, " + JUDGE_SPEC + "]")
    if watch:
        text = text.replace('    schedule: "0 6 * * *"', '    schedule: "0 6 * * *"\n' + watch)
    path.write_text(text)
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(path))


def judge_rows() -> list[ScoreRow]:
    with session_scope() as session:
        return list(session.exec(select(ScoreRow).where(ScoreRow.scorer_name == "judge")).all())


def judge_peer(answer: Callable[[Messages], str] = lambda messages: VERDICT) -> OpenAIPeer:
    return OpenAIPeer(models=["judge-model"], answer=answer)


def test_a_judge_call_that_failed_in_passing_is_asked_again(applied: Path) -> None:
    # given a judge whose first two calls fail with a 500, which it does not retry itself (max_retries: 0)
    with judge_peer() as judge:
        declare_judge(applied, judge)
        judge.fail_next(2, "500")
        # when a cycle runs
        cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
        assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
    # then the failed calls were planned again: every answered completion has the judge's score,
    # none is left as "could not score", and the unanswered ones count as failures
    rows = judge_rows()
    assert sorted(row.value for row in rows if row.value is not None) == [0.0, 0.0] + [0.8] * 6
    assert [row for row in rows if row.value is None or row.retryable] == []


def test_judge_calls_pass_through_the_limits_replay_uses(applied: Path) -> None:
    # given a judge that answers its first call with a 429 and `Retry-After: 1`, and retries once
    with judge_peer() as judge:
        declare_judge(applied, judge, extra="    rpm: 6000\n")
        judge.fail_next(1, "429")
        with session_scope() as session:
            spec = catalog.model_spec(session, name="judge")
        assert isinstance(spec, ModelSpec)
        cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
        with session_scope() as session:
            run_ids = [run.id or 0 for run in runs.cycle_runs(session, cycle_id=cycle_id)]

        async def replay_then_score(hub: LimitsHub) -> None:
            try:
                for run_id in run_ids:
                    await pipeline.replay_run(run_id, hub=hub)
                assert pipeline.replay_finished(cycle_id)
                await pipeline.score_cycle(cycle_id, hub=hub)
            finally:
                await hub.aclose()

        # when the cycle is replayed and scored with one set of limits
        hub = LimitsHub(None)
        asyncio.run(replay_then_score(hub))
    # then the judge's calls went through that hub's limits for the judge model: the 429 paused every
    # sender for the Retry-After the server asked, and the rest were answered
    limits = hub.for_model(spec)
    assert limits.limiter is not None
    assert limits.pauses == [1.0]
    assert limits.outcomes["rate_limit"] == 1 and limits.outcomes["ok"] == len(judge.requests) - 1
    assert all(row.value is not None for row in judge_rows())


def test_judge_cost_is_part_of_the_cycle_cost(applied: Path) -> None:
    # given a priced judge
    with judge_peer() as judge:
        declare_judge(applied, judge, extra="    hosting: api\n    residency: us\n"
                                             "    pricing: {input_per_mtok: 1000.0, output_per_mtok: 2000.0}\n")
        # when a cycle runs
        cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
        assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
        asked = len(judge.requests)
    with session_scope() as session:
        summary = cycle_summary(session, cycle_id=cycle_id).model_dump(mode="json")
        judge_cost = session.get(CycleRow, cycle_id).judge_cost_usd  # type: ignore[union-attr]
    # then what the judge's calls cost is stored with the cycle and included in the cost `turnout run --json` prints
    assert asked > 0 and judge_cost > 0
    runs_cost = sum(run["cost_usd"] for run in summary["runs"])
    assert summary["cost_usd"] == pytest.approx(runs_cost + judge_cost)


def test_a_judge_call_that_would_pass_the_budget_is_not_sent(applied: Path) -> None:
    # given a watch whose budget covers the replay but not one call of a very expensive judge ($1 a token)
    with judge_peer() as judge:
        declare_judge(applied, judge, extra="    hosting: api\n    residency: us\n"
                                             "    pricing: {input_per_mtok: 1000000.0, output_per_mtok: 1000000.0}\n",
                      watch="    budget_usd: 5.0")
        # when a cycle runs
        cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
        state = asyncio.run(pipeline.run_cycle(cycle_id))
        asked = len(judge.requests)
    with session_scope() as session:
        cycle = runs.get_cycle(session, cycle_id=cycle_id)
    # then no judge call was sent, and the cycle failed on its budget, saying the judge's call was refused
    assert asked == 0
    assert (state, cycle.failure_kind) == ("failed", "budget")
    assert cycle.reason is not None and "judge call not sent" in cycle.reason


def test_rescoring_with_a_judge_that_may_not_see_a_confidential_set_is_refused(
        applied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given a confidential golden set answered by self-hosted models, and an API-hosted model 'judge'
    text = applied.read_text().replace("privacy: internal", "privacy: confidential").replace(
        "    hosting: api\n    residency: us\n", "    hosting: self_hosted\n", 1)
    applied.write_text(text)
    with judge_peer() as judge:
        declare_judge(applied, judge, extra="    hosting: api\n    residency: eu\n", scored=False)
        cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
        assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
        with session_scope() as session:
            run_id = runs.cycle_runs(session, cycle_id=cycle_id)[0].id
        # when a run is re-scored with that judge
        status = main(["rescore", str(run_id), "--scorer", 'judge:{"model": "judge"}'])
        asked = len(judge.requests)
    # then nothing is sent to the judge, and the command says which model the policy forbids
    assert status == 1 and asked == 0
    err = capsys.readouterr().err
    assert "judge model 'judge'" in err and "confidential" in err
    assert judge_rows() == []


def test_the_comparison_reports_cases_the_judge_could_not_score_and_why(
        applied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given a judge whose reply about Paris has no score (the same answer on both sides)
    def answer(messages: Messages) -> str:
        return "I cannot decide." if "France" in str(messages) else VERDICT

    with judge_peer(answer) as judge:
        declare_judge(applied, judge)
        # when a cycle runs and the runs are compared on the judge
        cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
        assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
        with session_scope() as session:
            prod, cand = (run.id for run in runs.cycle_runs(session, cycle_id=cycle_id))
        assert main(["compare", str(prod), str(cand), "--scorer", "judge", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    # then `turnout compare --json` and the comparison stored by the analysis say one case was left
    # out on each side, and why, beside the pairs it was compared on
    expected = {"a": 1, "b": 1, "reasons": {"judge reply has no score from 0 to 10": 1}}
    assert printed["unscorable"] == expected and printed["n_pairs"] == 3
    with session_scope() as session:
        stored = session.exec(select(ComparisonRow).where(ComparisonRow.scorer_key.startswith("judge"))).all()
    assert [row.document["unscorable"] for row in stored] == [expected]
