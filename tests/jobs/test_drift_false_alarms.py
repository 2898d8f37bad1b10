"""False alarms of each drift signal against an unchanged endpoint, counted over 20 seeded repetitions.

Each repetition is two runs of the same endpoint, compared as every cycle compares them: 21 whole
cycles through `pipeline.run_cycle` (replay, the probe's samples, scoring, analysis with the Evidently
report) of a watch with `drift.reference_runs: 1`, so cycle i is checked against cycle i - 1 alone. The
peer answers at temperature 0 deterministically, as an unchanged endpoint does, in 200 ms (a hosted
model's answer takes longer; on this shared machine a local server's own few milliseconds swing by half
between cycles), and samples the probe's answers at temperature 1 from one fixed distribution, from a
generator seeded by the repetition.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.jobs.drift_watch import declare_watch, drift_cycle
from tests.peers.openai_peer import Messages, OpenAIPeer, default_answer, last_user_text

REPETITIONS = 20

CASES = [{"id": f"{lang}{i}", "input": f"Question {i} [{lang}]?\nANSWER: Answer {i} in {lang}",
          "expected": f"Answer {i}", "tags": [f"lang:{lang}"]} for lang in ("en", "fr") for i in range(20)]

CONFIG = """\
golden_sets:
  - {{name: fa-set, file: cases.jsonl, privacy: internal}}
models:
  - {{name: prod, base_url: "{url}", model: peer-model, params: {{temperature: 0}}, max_retries: 1, timeout_s: 5,
     hosting: api}}
watches:
  - {{name: fa-watch, golden_set: fa-set, production: prod, scorers: [contains],
     drift: {{reference_runs: 1, probe: {{cases: 10, samples: 6}}}}}}
"""

STYLES = ["{a}", "{a}.", "The answer is {a}.", "I believe it is {a}, but check the question again."]


class Sampler:
    """Samples at temperature > 0 from one distribution of four styles; `seed` picks the repetition."""

    def __init__(self) -> None:
        self.seed = 0
        self.seen: Counter[str] = Counter()

    def __call__(self, messages: Messages, temperature: float) -> str:
        prompt = last_user_text(messages)
        k = self.seen[prompt]
        self.seen[prompt] += 1
        rng = random.Random(f"{self.seed}|{prompt}|{k}")
        return rng.choices(STYLES, [0.4, 0.3, 0.2, 0.1])[0].format(a=default_answer(messages))


@pytest.fixture
def sampler() -> Sampler:
    return Sampler()


@pytest.fixture
def peer(sampler: Sampler) -> Iterator[OpenAIPeer]:
    with OpenAIPeer(sample=sampler, latency_s=0.2) as server:
        yield server


@pytest.fixture
def watch(database_url: str, tmp_path: Path, peer: OpenAIPeer) -> OpenAIPeer:
    declare_watch(tmp_path, config=CONFIG.format(url=peer.base_url), cases=CASES)
    return peer


def false_alarms(sampler: Sampler, repetitions: int) -> tuple[Counter[str], Counter[str], list[dict[str, Any]]]:
    """Run 1 + *repetitions* cycles; count each reason kind and each Evidently column that drifted."""
    reasons: Counter[str] = Counter()
    columns: Counter[str] = Counter()
    documents = []
    for rep in range(repetitions + 1):
        sampler.seed = rep
        _, document = drift_cycle("fa-watch")
        if rep == 0:
            continue  # the reference of the first pair
        documents.append(document)
        reasons.update({reason["kind"] for reason in document["reasons"]})
        columns.update(document["drifted_columns"])
    return reasons, columns, documents


# One database is enough to count: the signals are computed the same way on both.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unchanged_endpoint_raises_no_false_alarm_over_20_repetitions(
        watch: OpenAIPeer, sampler: Sampler, capsys: pytest.CaptureFixture[str]) -> None:
    reasons, columns, documents = false_alarms(sampler, REPETITIONS)

    with capsys.disabled():
        print(f"\nfalse alarms in {REPETITIONS} repetitions: reasons {dict(reasons)}, "
              f"drifted Evidently columns {dict(columns)}, probe p-values "
              f"{sorted(round(float(d['probe_p']), 3) for d in documents)}, largest latency factor "
              f"{max(d['columns']['latency_ms']['value'] for d in documents):.2f}")
    # No signal fires: scores, answers at temperature 0 and fingerprints do not move, the probe's test
    # (exact at its level 0.001: 20 tests reject at all with probability 2 %) keeps its p-values above it
    assert not reasons, reasons
    assert all(document["output_change_rate"] == 0.0 and document["score_change"] == 0.0 for document in documents)
    assert all(document["probe_p"] is not None for document in documents)
    # and no Evidently column drifts, the timings included: they are judged by the factor they changed by
    assert not columns, columns
    assert all(document["drift_share"] == 0.0 for document in documents)
