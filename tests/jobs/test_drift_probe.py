"""The distribution probe through whole cycles against the OpenAI peer: answers at temperature 0 stay the
same while the samples at temperature 1 switch to another distribution under the same fingerprint, which
only the probe sees; an unchanged distribution stays `stable`; the samples never become completions."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlmodel import func, select

from evals.drift.mmd import ALPHA
from service.storage.db import session_scope
from service.storage.drift_tables import ProbeSampleRow, ProbeTestRow
from service.storage.tables import CompletionRow, ScoreRow
from tests.jobs.drift_watch import declare_watch, drift_cycle
from tests.peers.openai_peer import Messages, OpenAIPeer, default_answer, last_user_text

CASES = [{"id": f"q{i}", "input": f"Question {i}?\nANSWER: Answer {i}", "expected": f"Answer {i}"} for i in range(30)]

CONFIG = """\
golden_sets:
  - {{name: probe-set, file: cases.jsonl, privacy: internal}}
models:
  - {{name: prod, base_url: "{url}", model: peer-model, params: {{temperature: 0}}, max_retries: 1, timeout_s: 5,
     hosting: api}}
watches:
  - {{name: probe-watch, golden_set: probe-set, production: prod, scorers: [contains],
     drift: {{probe: {{cases: 12, samples: 8, temperature: 1.0}}}}}}
"""

STYLES = ["{a}", "{a}.", "The answer is {a}.", "I believe it is {a}, but check the question again."]


def sampler(weights: list[float]) -> Callable[[Messages, float], str]:
    """Answers at temperature > 0 in one of four styles, drawn with *weights*. The k-th request for a
    prompt draws from a generator seeded by (prompt, k), so each cycle's multiset of samples per prompt
    is the same whatever order concurrent requests arrive in."""
    seen: Counter[str] = Counter()

    def sample(messages: Messages, temperature: float) -> str:
        prompt = last_user_text(messages)
        k = seen[prompt]
        seen[prompt] += 1
        style = random.Random(f"{prompt}|{k}").choices(STYLES, weights)[0]
        return style.format(a=default_answer(messages))

    return sample


@pytest.fixture
def peer() -> Iterator[OpenAIPeer]:
    with OpenAIPeer(sample=sampler([0.4, 0.3, 0.2, 0.1])) as server:
        yield server


@pytest.fixture
def probe_watch(database_url: str, tmp_path: Path, peer: OpenAIPeer) -> OpenAIPeer:
    declare_watch(tmp_path, config=CONFIG.format(url=peer.base_url), cases=CASES)
    return peer


cycle = partial(drift_cycle, "probe-watch")


def test_the_probe_samples_apart_and_an_unchanged_distribution_is_stable(probe_watch: OpenAIPeer) -> None:
    # Given a first cycle (the reference) and a second against the same endpoint
    first, document = cycle()
    assert document["probe_p"] is None  # nothing to test against yet
    second, document = cycle()

    # Then the second is stable, with the probe's p-value beside the other signals
    assert document["verdict"] == "stable", document["reasons"]
    assert isinstance(document["probe_p"], float) and document["probe_p"] >= ALPHA
    assert document["probe"] == {**document["probe"], "n_current": 96, "n_reference": 96, "n_prompts": 12}
    # and each run sampled 12 cases x 8 at temperature 1, stored as samples, not completions or scores
    with session_scope() as session:
        samples = session.exec(select(ProbeSampleRow)).all()
        completions = session.exec(select(func.count()).select_from(CompletionRow)).one()
        scores = session.exec(select(func.count()).select_from(ScoreRow)).one()
        (test,) = session.exec(select(ProbeTestRow).where(ProbeTestRow.cycle_id == second)).all()
    assert len(samples) == 2 * 96 and {s.temperature for s in samples} == {1.0}
    assert (completions, scores) == (2 * 30, 2 * 30)
    assert (test.p_value, test.rejected, test.n_current) == (document["probe_p"], False, 96)
    # the same 12 cases both times, and every probe request really asked for temperature 1
    chosen = [{s.golden_case_id for s in samples if s.run_id == run_id} for run_id in {s.run_id for s in samples}]
    assert len(chosen) == 2 and chosen[0] == chosen[1] and len(chosen[0]) == 12
    temperatures = Counter(request.get("temperature") for request in probe_watch.requests)
    assert temperatures == {0: 60, 1.0: 192}


def test_a_new_distribution_under_the_same_fingerprint_drifts_by_the_probe_alone(probe_watch: OpenAIPeer) -> None:
    cycle()
    cycle()
    # the endpoint now samples its answers in other proportions; at temperature 0 it answers as before
    probe_watch.sample = sampler([0.05, 0.1, 0.25, 0.6])

    cycle_id, document = cycle()

    assert document["verdict"] == "drifted"
    assert [reason["kind"] for reason in document["reasons"]] == ["probe"]
    assert document["probe_p"] < ALPHA and document["output_change_rate"] == 0.0
    assert document["fingerprint_changed"] is False
    # tested against both earlier cycles' samples
    assert document["probe"]["n_reference"] == 2 * 96
    with session_scope() as session:
        (test,) = session.exec(select(ProbeTestRow).where(ProbeTestRow.cycle_id == cycle_id)).all()
    assert test.rejected and len(test.reference_run_ids) == 2
