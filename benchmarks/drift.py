"""The drift step of one model, timed, and the distribution probe's test.

1. The whole drift check of a run of 10,000 cases against a reference run of 10,000: the paired score
   change (overall and in 4 segments), the output change rate, fingerprints, and the Evidently report
   (`DataDriftPreset` on score, latency, time to first token, tokens, the offline text descriptors and
   the text itself), then the verdict. Target: <= 5 s, Evidently's import excluded (printed apart).
2. The probe's MMD test: 20 prompts x 10 samples against one reference run's 200 samples (and against
   three runs' 600), 1,000 permutations. Target: <= 1 s.
3. With `--rates N`: the probe's false alarms and power at its defaults over N seeded repetitions.

Run by hand: `python benchmarks/drift.py` (`--cases N` for a smaller smoke run). Prints wall and CPU
time: on a shared machine the wall time also counts waiting for a core.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

from evals.drift.mmd import ALPHA, PERMUTATIONS, ProbeSample, mmd_test
from evals.drift.signals import CaseRecord, RunSample, output_change, score_change
from evals.drift.verdict import check_drift
from evals.pairing import ScoreTable

SEGMENTS = ("lang:en", "lang:fr", "doc:long", "task:summary")
STYLES = ["{a}", "{a}.", "The answer is {a}.", "I believe it is {a}, but check the question again."]
WORDS = ("the answer is", "refund", "within", "thirty days", "of purchase", "contact", "support", "invoice",
         "shipping", "is free", "over", "fifty euros", "your order", "account", "password", "reset", "link")


def run_sample(run_id: int, *, cases: int, seed: int, longer: float = 0.0) -> RunSample:
    """A run of *cases* answers: pass/fail scores, a few words to a few sentences each, latencies."""
    rng = random.Random(seed)
    keys = [f"case-{i:05d}" for i in range(cases)]
    values, tags, records = {}, {}, {}
    for i, key in enumerate(keys):
        words = rng.randint(3, 40) + int(longer * rng.randint(0, 40))
        text = " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."
        if i % 7 == 0:
            text += " " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + "."
        score = float(rng.random() < 0.85)
        values[key], tags[key] = [score], [SEGMENTS[i % len(SEGMENTS)]]
        records[key] = CaseRecord(output=text, latency_ms=rng.lognormvariate(6, 0.4),
                                  ttft_ms=rng.lognormvariate(4.5, 0.3), input_tokens=rng.randint(50, 900),
                                  output_tokens=words + 2, score=score)
    return RunSample(run_id=run_id, scores=ScoreTable(values=values, tags=tags), cases=records,
                     fingerprints=frozenset({"fp_1"}), served_models=frozenset({"gpt-4o"}))


def timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - started, time.process_time() - cpu


def rerun(sample: RunSample, *, run_id: int, changed: float, seed: int) -> RunSample:
    """The same endpoint again: the same answers but a share *changed* of them, new latencies."""
    rng = random.Random(seed)
    cases = {key: CaseRecord(output=record.output + (" Also." if rng.random() < changed else ""),
                             latency_ms=rng.lognormvariate(6, 0.4), ttft_ms=rng.lognormvariate(4.5, 0.3),
                             input_tokens=record.input_tokens, output_tokens=record.output_tokens, score=record.score)
             for key, record in sample.cases.items() if record.output is not None}
    return RunSample(run_id=run_id, scores=sample.scores, cases=cases, fingerprints=sample.fingerprints,
                     served_models=sample.served_models)


def drift_step(cases: int) -> float:
    reference = run_sample(1, cases=cases, seed=1)
    current = rerun(reference, run_id=2, changed=0.01, seed=2)

    def import_evidently() -> None:
        import evidently  # noqa: F401
        from evidently.descriptors import TextLength  # noqa: F401
        from evidently.presets import DataDriftPreset  # noqa: F401

    _, wall, cpu = timed(import_evidently)
    print(f"Evidently import (excluded from the target): {wall:.2f} s, CPU {cpu:.2f} s")

    from evals.drift.report import data_drift_report

    parts: dict[str, tuple[float, float]] = {}
    started, cpu_started = time.perf_counter(), time.process_time()
    _, *parts["paired score change"] = timed(lambda: score_change(current, [reference], margin=0.0))
    _, *parts["output change rate"] = timed(lambda: output_change(current, [reference]))
    (data, snapshot), *parts["Evidently report"] = timed(lambda: data_drift_report(current=current,
                                                                                   references=[reference]))
    check, *parts["verdict (all signals)"] = timed(lambda: check_drift(current=current, references=[reference],
                                                                       data_drift=data))
    total, total_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    for name, (wall, cpu) in parts.items():
        print(f"  {name:24}: {wall:6.2f} s, CPU {cpu:6.2f} s")
    print(f"drift step, {cases:,} current x {cases:,} reference cases: {total:.2f} s, CPU {total_cpu:.2f} s "
          f"(target 5 s; verdict {check.verdict}, drift share {data.drift_share:.2f}, "
          f"snapshot {len(snapshot) / 1e6:.1f} MB)")
    return total


def probe_samples(runs: int, *, seed: int) -> list[ProbeSample]:
    rng = random.Random(seed)
    return [ProbeSample(f"prompt-{p:02d}", rng.choice(STYLES).format(a=f"answer {p} " + rng.choice(WORDS)))
            for _ in range(runs) for p in range(20) for _ in range(10)]


def probe(permutations: int) -> float:
    current = probe_samples(1, seed=0)
    worst = 0.0
    for runs in (1, 3):
        reference = probe_samples(runs, seed=runs)
        result, wall, cpu = timed(lambda reference=reference: mmd_test(current, reference,  # type: ignore[misc]
                                                                       permutations=permutations))
        worst = max(worst, wall)
        print(f"MMD probe, 20 prompts x 10 samples against {len(reference)} reference samples, "
              f"{permutations:,} permutations: {wall:.3f} s, CPU {cpu:.3f} s (target 1 s; p = {result.p_value:.3f})")
    return worst


UNCHANGED, PLANTED = [0.4, 0.3, 0.2, 0.1], [0.05, 0.1, 0.25, 0.6]
"""The sampled styles' weights of tests/jobs/test_drift_probe.py's peer, before and after the planted change."""


def styled(rng: random.Random, weights: list[float], *, prompts: int, samples: int) -> list[ProbeSample]:
    return [ProbeSample(f"prompt-{p:02d}", rng.choices(STYLES, weights)[0].format(a=f"Answer {p}"))
            for p in range(prompts) for _ in range(samples)]


def few_prompts(samples: list[ProbeSample]) -> list[ProbeSample]:
    """A subtler change: every fifth prompt answers every other sample in a way never seen before."""
    changed = {f"prompt-{p:02d}" for p in range(0, 20, 5)}
    return [ProbeSample(s.prompt, "Sure! " + s.text) if s.prompt in changed and k % 2 else s
            for k, s in enumerate(samples)]


def probe_rates(repetitions: int, *, permutations: int, levels: tuple[float, ...]) -> None:
    """The probe's false alarms on an unchanged distribution and its power on the planted changes, over
    *repetitions* seeded draws, against one and three reference runs (the default `reference_runs`)."""
    for prompts, samples in ((20, 10), (12, 8)):
        for runs in (1, 3):
            p_values: dict[str, list[float]] = {"unchanged": [], "planted": [], "a few prompts": []}
            for rep in range(repetitions):
                rng = random.Random(f"{prompts}|{runs}|{rep}")
                reference = styled(rng, UNCHANGED, prompts=prompts, samples=samples * runs)
                currents = {"unchanged": styled(rng, UNCHANGED, prompts=prompts, samples=samples),
                            "planted": styled(rng, PLANTED, prompts=prompts, samples=samples)}
                currents["a few prompts"] = few_prompts(styled(rng, UNCHANGED, prompts=prompts, samples=samples))
                for name, current in currents.items():
                    result = mmd_test(current, reference, permutations=permutations, seed=rep)
                    p_values[name].append(1.0 if result is None else result.p_value)
            for alpha in levels:
                found = {name: sum(p < alpha for p in found) for name, found in p_values.items()}
                print(f"MMD probe rates, {prompts} prompts x {samples} samples against {runs} reference run(s), "
                      f"alpha {alpha}, {permutations:,} permutations, {repetitions} repetitions: false alarms "
                      f"{found['unchanged']}, planted change found {found['planted']}, a few prompts changed "
                      f"found {found['a few prompts']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases per run (default 10,000)")
    parser.add_argument("--permutations", type=int, default=1000, help="the probe's permutations (default 1,000)")
    parser.add_argument("--rates", type=int, default=0, metavar="N",
                        help="also count the probe's false alarms and power over N seeded repetitions")
    args = parser.parse_args()
    probe(args.permutations)
    if args.rates:
        probe_rates(args.rates, permutations=PERMUTATIONS, levels=(ALPHA, 0.01))
    drift_step(args.cases)


if __name__ == "__main__":
    main()
