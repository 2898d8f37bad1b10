"""Statistics of runs: intervals per segment, paired comparisons, power (Miller 2024, arXiv 2411.00640)."""

from evals.stats.bootstrap import Resampler
from evals.stats.decision import Outcome, cases_to_decide, decide
from evals.stats.difference import PairedInterval, PairedMethod, paired_interval
from evals.stats.intervals import Interval, IntervalMethod, summarize, summarize_segments, wilson_interval
from evals.stats.multiple import holm
from evals.stats.paired import PairedComparison, compare, compare_pairs, mcnemar_exact
from evals.stats.power import cases_needed, min_detectable_difference
from evals.stats.proportions import newcombe_interval, tango_interval

__all__ = [
    "Interval",
    "IntervalMethod",
    "Outcome",
    "PairedComparison",
    "PairedInterval",
    "PairedMethod",
    "Resampler",
    "cases_needed",
    "cases_to_decide",
    "compare",
    "compare_pairs",
    "decide",
    "holm",
    "mcnemar_exact",
    "min_detectable_difference",
    "newcombe_interval",
    "paired_interval",
    "summarize",
    "summarize_segments",
    "tango_interval",
    "wilson_interval",
]
