"""The analysis step of one cycle, timed: intervals per run and segment, paired comparisons (bootstrap
included) of each candidate against production, and the advisor.

10,000 cases x 3 models (production and two candidates) x 4 segments, on the primary scorer, once with
pass/fail scores (Tango) and once with continuous scores in [0, 1] (BCa bootstrap). Target: <= 2 s
each on a development machine. Run by hand: `python benchmarks/advisor.py`.
"""

from __future__ import annotations

import time

import numpy as np

from evals.advisor import AdvisorPolicy, CandidateEvidence, ModelEvidence, TokenMix, advise, quality_from
from evals.models import ModelSpec
from evals.pairing import ScoreTable, pair_runs
from evals.stats import Resampler, compare_pairs, summarize, summarize_segments

CASES, SEGMENTS = 10_000, ("lang:en", "lang:fr", "doc:long", "task:summary")


def cycle(*, binary: bool, seed: int = 0) -> list[ScoreTable]:
    rng = np.random.default_rng(seed)
    keys = [f"case-{i:05d}" for i in range(CASES)]
    tags = {key: [SEGMENTS[i % 4]] for i, key in enumerate(keys)}
    tables = []
    for quality in (0.90, 0.89, 0.86):
        if binary:
            values = (rng.random(CASES) < quality).astype(float)
        else:
            values = rng.beta(9 * quality, 9 * (1 - quality), CASES)
        tables.append(ScoreTable(values={k: [float(v)] for k, v in zip(keys, values, strict=True)}, tags=tags))
    return tables


def analyze(tables: list[ScoreTable]) -> str:
    resampler = Resampler()  # one per analysis step, as in jobs.analysis
    for table in tables:
        summarize(table.values, resampler=resampler)
        summarize_segments(table.values, tags=table.tags, resampler=resampler)
    policy = AdvisorPolicy.model_validate({"margin": 0.03, "critical_segments": ["lang:fr", "doc:long"],
                                           "volume": {"requests_per_month": 2_000_000, "peak_rps": 20}})
    mix = TokenMix(input_tokens=1000, output_tokens=200)
    production = ModelEvidence(spec=ModelSpec(name="gpt", model="gpt-4o",
                                              pricing={"input_per_mtok": 2.5, "output_per_mtok": 10.0}), mix=mix)
    candidates = []
    for i, table in enumerate(tables[1:]):
        comparison = compare_pairs(pair_runs(tables[0], table), margin=policy.margin, resampler=resampler)
        spec = ModelSpec(name=f"open-{i}", model="mistral", hosting="self_hosted",
                         pricing={"gpu_hour": 2.49, "gpus": 1, "capacity_rps": 12})
        candidates.append(CandidateEvidence(model=ModelEvidence(spec=spec, mix=mix, capacity_rps=12),
                                            quality=quality_from(comparison)))
    recommendation = advise(production=production, candidates=candidates, policy=policy, golden_set_class="internal")
    return recommendation.cycle_verdict


def main() -> None:
    for binary in (True, False):
        tables = cycle(binary=binary)
        started, cpu = time.perf_counter(), time.process_time()
        verdict = analyze(tables)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        kind = "pass/fail (Tango)" if binary else "continuous (bootstrap)"
        # CPU time too: on a shared machine the wall time includes waiting for a core.
        print(f"{CASES:,} cases x 3 models x 4 segments, {kind:24}: {elapsed:.2f} s, CPU {cpu:.2f} s"
              f"  (verdict {verdict}; target 2 s)")


if __name__ == "__main__":
    main()
