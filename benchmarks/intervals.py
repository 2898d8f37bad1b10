"""Coverage of the paired-difference intervals (`evals.stats.difference.paired_interval`), method by method.

    .venv/bin/python benchmarks/intervals.py                 # exact tables + 2,000 simulations a row
    .venv/bin/python benchmarks/intervals.py --simulations 400   # smoke run

Pass/fail scores: exact coverage and expected width of Tango and Newcombe (every table of the
multinomial, tables below 1e-12 left out) over n x discordance x (true difference / discordance) x
production pass rate, with the one-way widening `paired_interval` applies and without it.
Other scores: coverage by seeded simulation, with the mean width and how often the conservative
method was used. It prints its own runtime. It asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.stats.difference import PairedInterval, paired_interval  # noqa: E402
from evals.stats.exact_coverage import exact_coverage  # noqa: E402

SIZES = (30, 100, 1000)
DISCORDANCE = (0.0, 0.01, 0.05, 0.10, 0.20)
SHARES = (-1.0, -0.5, 0.0, 0.5, 1.0)
RATES = (0.5, 0.9)

Pairs = tuple[np.ndarray, np.ndarray]
# Draws (production, candidate) scores for a number of runs from a seeded generator.
MakePairs = Callable[[np.random.Generator, int], Pairs]


def exact_table() -> None:
    print("Exact coverage of 95 % intervals, pass/fail scores (min over the true difference as a share")
    print(f"of the discordance {SHARES} and production pass rates {RATES}; width = mean expected width),")
    print("as `paired_interval` computes them (widened where all discordant pairs go one way) and, in")
    print("brackets, the score interval alone:\n")
    print(f"{'n':>5} {'discordance':>11} | {'tango min':>17} {'width':>15} | {'newcombe min':>17} {'width':>15}")
    worst: dict[tuple[str, bool], tuple[float, str]] = {}
    widths: dict[tuple[str, bool], list[float]] = {}
    for n in SIZES:
        for psi in DISCORDANCE:
            cells = []
            for method in ("tango", "newcombe"):
                for one_way in (True, False):
                    values, row_widths = [], []
                    for share in SHARES if psi else (0.0,):
                        for rate in RATES:
                            only_b, only_a = psi * (1 + share) / 2, psi * (1 - share) / 2
                            if rate - only_a < 0 or rate - only_a + only_b + only_a > 1:
                                continue  # no such table: the cells would not sum to 1
                            cov = exact_coverage(method, n=n, p_only_b=only_b, p_only_a=only_a,  # type: ignore[arg-type]
                                                 p_both=rate - only_a, one_way=one_way)
                            values.append(cov.coverage)
                            row_widths.append(cov.width)
                            key = (method, one_way)
                            if cov.coverage < worst.get(key, (1.0, ""))[0]:
                                worst[key] = (cov.coverage, f"n={n}, discordance={psi}, share={share}, rate={rate}")
                    widths.setdefault((method, one_way), []).extend(row_widths)
                    cells.append((min(values), float(np.mean(row_widths))))
            (t_min, t_w), (t_min0, t_w0), (w_min, w_w), (w_min0, w_w0) = cells
            print(f"{n:>5} {psi:>11.2f} | {t_min:>8.4f} ({t_min0:.4f}) {t_w:>6.4f} ({t_w0:.4f}) | "
                  f"{w_min:>8.4f} ({w_min0:.4f}) {w_w:>6.4f} ({w_w0:.4f})")
    for (method, one_way), (value, where) in worst.items():
        label = f"{method}{'' if one_way else ' (score interval alone)'}"
        print(f"worst {label}: {value:.4f} at {where}; mean width {np.mean(widths[(method, one_way)]):.4f}")


def skewed_pairs(rng: np.random.Generator, runs: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    u = rng.beta(2.0, 5.0, (runs, n))
    return u, np.clip(u + rng.normal(0.03, 0.15, (runs, n)), 0.0, 1.0)


def clustered_pairs(
    rng: np.random.Generator, runs: int, clusters: int, size: int, *, binary: bool
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    doc = rng.beta(3.0, 2.0, (runs, clusters, 1))
    if binary:
        a = rng.random((runs, clusters, size)) < doc
        b = rng.random((runs, clusters, size)) < np.minimum(doc + 0.05, 1.0)
    else:
        a = np.clip(doc + rng.normal(0.0, 0.1, (runs, clusters, size)), 0, 1)
        b = np.clip(a + doc * 0.1 + rng.normal(0.0, 0.1, (runs, clusters, size)), 0, 1)
    shape = (runs, clusters * size)
    return a.reshape(shape).astype(float), b.reshape(shape).astype(float), [f"d{i // size}" for i in range(shape[1])]


def truth_of(make: MakePairs) -> float:
    a, b = make(np.random.default_rng(99), 1)
    return float(np.mean(b - a))


def simulation_table(runs: int) -> None:
    se_points = 100 * np.sqrt(0.95 * 0.05 / runs)
    print(f"\nCoverage by simulation ({runs} runs a row; Monte-Carlo SE {se_points:.1f} points):\n")
    print(f"{'data':<42} {'method(s)':<28} {'coverage':>8} {'width':>7} {'conservative':>12}")
    rows: list[tuple[str, MakePairs, list[str] | None, bool]] = []
    for n in (30, 100, 300):
        rows.append((f"skewed continuous, n={n}", lambda rng, r, n=n: skewed_pairs(rng, r, n), None, False))
        rows.append((f"  same, bootstrap forced, n={n}", lambda rng, r, n=n: skewed_pairs(rng, r, n), None, True))
    for clusters, size in ((30, 5), (10, 10), (8, 15)):
        for binary in (True, False):
            kind = "pass/fail" if binary else "continuous"
            labels = [f"d{i // size}" for i in range(clusters * size)]
            rows.append((
                f"{kind}, {clusters} clusters x {size}",
                lambda rng, r, c=clusters, s=size, bi=binary: clustered_pairs(rng, r, c, s, binary=bi)[:2],
                labels,
                False,
            ))
    for label, make, clusters, force_bootstrap in rows:
        truth = truth_of(lambda rng, r, make=make: _big(make, rng))
        a, b = make(np.random.default_rng(2025), runs)
        results: list[PairedInterval] = []
        for i in range(runs):
            if force_bootstrap:
                results.append(_forced_bootstrap(a[i], b[i], seed=i))
            else:
                result = paired_interval(a[i], b[i], clusters=clusters, seed=i)
                assert result is not None
                results.append(result)
        coverage = np.mean([r.ci_low <= truth <= r.ci_high for r in results])
        width = np.mean([r.ci_high - r.ci_low for r in results])
        methods = ",".join(sorted({r.method for r in results}))
        conservative = np.mean([r.conservative for r in results])
        print(f"{label:<42} {methods:<28} {coverage:>8.3f} {width:>7.3f} {conservative:>12.0%}")


def _big(make: MakePairs, rng: np.random.Generator) -> Pairs:
    # The true mean difference, from 4,000 runs' worth of cases.
    a, b = make(rng, 4000)
    return a.reshape(1, -1), b.reshape(1, -1)


def _forced_bootstrap(a: np.ndarray, b: np.ndarray, *, seed: int) -> PairedInterval:
    from evals.stats.bootstrap import bca_interval

    low, high = bca_interval(b - a, confidence=0.95, resamples=2000, seed=seed)
    base = paired_interval(a, b, seed=seed)
    assert base is not None
    forced = {"ci_low": low, "ci_high": high, "method": "bootstrap", "conservative": False}
    return PairedInterval(**{**base.to_dict(), **forced})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=2000, help="simulated runs per row (default 2000; 0: none)")
    parser.add_argument("--no-exact", action="store_true", help="skip the exact tables")
    options = parser.parse_args()
    started = time.perf_counter()
    if not options.no_exact:
        exact_table()
    if options.simulations > 0:
        simulation_table(options.simulations)
    print(f"\nruntime: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
