"""A candidate with a case sample (`sample_cases`) through the whole pipeline: it is asked only its sample, the
same cases every cycle, and compared with production on those alone. Real HTTP peers, real databases."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlmodel import select

from evals.config import load_config
from jobs import pipeline
from service.storage import catalog, runs
from service.storage.db import session_scope
from service.storage.tables import ComparisonRow, CompletionRow
from tests.peers.openai_peer import OpenAIPeer
from tests.peers.watch import CASES, CONFIG


def _apply(tmp_path: Path, peers: tuple[OpenAIPeer, OpenAIPeer], *, sample: int) -> None:
    prod, cand = peers
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(case) + "\n" for case in CASES))
    path = tmp_path / "turnout.yaml"
    path.write_text(
        CONFIG.format(prod_url=prod.base_url, cand_url=cand.base_url) + f"    sample_cases: {{cand: {sample}}}\n"
    )
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(path))


def _cycle() -> tuple[int, int, int]:
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
    with session_scope() as session:
        production, candidate = runs.cycle_runs(session, cycle_id=cycle_id)
    return cycle_id, production.id or 0, candidate.id or 0


def _asked(run_id: int) -> set[int]:
    with session_scope() as session:
        return set(session.exec(select(CompletionRow.golden_case_id).where(CompletionRow.run_id == run_id)).all())


def test_a_sampled_candidate_answers_its_sample_and_is_paired_on_it_only(
    database_url: str, tmp_path: Path, peers: tuple[OpenAIPeer, OpenAIPeer]
) -> None:
    # given a watch whose candidate answers 2 of the 4 cases each cycle
    _apply(tmp_path, peers, sample=2)
    prod_peer, cand_peer = peers
    # when two cycles run
    _, prod_run, cand_run = _cycle()
    _, _, cand_run_2 = _cycle()
    # then production was asked every case, the candidate 2 a cycle, the same two both times
    assert len(prod_peer.requests) == 8 and len(cand_peer.requests) == 4
    assert len(_asked(prod_run)) == 4 and len(_asked(cand_run)) == 2
    assert _asked(cand_run) == _asked(cand_run_2)
    with session_scope() as session:
        run = runs.get_run(session, run_id=cand_run)
        assert (run.n_total, run.n_done, run.state) == (2, 2, "finished")
        comparison = session.exec(
            select(ComparisonRow).where(ComparisonRow.run_b_id == cand_run, ComparisonRow.scorer_key == "contains")
        ).one()
    # and the comparison pairs the two sampled cases, the other two left out as not sampled (not failures)
    assert comparison.n_pairs == 2
    assert comparison.document["left_out"] == {"not_sampled": 2}
