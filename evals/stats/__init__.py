"""Statistics of runs: intervals per segment, paired comparisons, power (Miller 2024, arXiv 2411.00640)."""

from evals.stats.intervals import Interval, IntervalMethod, summarize, summarize_segments, wilson_interval
from evals.stats.multiple import holm
from evals.stats.paired import PairedComparison, compare, compare_pairs, mcnemar_exact
from evals.stats.power import cases_needed, min_detectable_difference

__all__ = [
    "Interval",
    "IntervalMethod",
    "PairedComparison",
    "cases_needed",
    "compare",
    "compare_pairs",
    "holm",
    "mcnemar_exact",
    "min_detectable_difference",
    "summarize",
    "summarize_segments",
    "wilson_interval",
]
