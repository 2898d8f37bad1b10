"""The drift test of the wall-clock columns (latency, time to first token): an effect size, not a test.

Two runs of an unchanged endpoint never take exactly the same time, and Evidently's default for a
numeric column of up to 1,000 rows, the two-sample K-S test, rejects "same distribution" on the
smallest shift once there are a few dozen cases: it flagged both columns in most pairs of identical
cycles (README, "Drift"). What matters about a latency is by how much it changed, as a factor (twice
as slow), so the columns are judged by the Wasserstein distance between the two sides' log times,
given as a factor: e^W, where W is the mean absolute log-ratio of the two sides' quantiles. Every time
multiplied by c gives exactly c (divided by c, also c); it drifts at `FACTOR` or more. Imported only
where a report is built; registered with Evidently's stattests on first use, as
`evals.drift.text_drift` is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "turnout_latency_factor"
"""The registered test's name, passed to `DataDriftPreset(per_column_method=...)`."""

FACTOR = 1.5
"""A typical latency 1.5 times as long (or as short) as the reference's drifts: a change a latency SLO
notices, well beyond a hosted endpoint's cycle-to-cycle swing, while twice as slow clears it."""

FLOOR_MS = 1.0
"""Times below a millisecond are taken as one (a log needs a positive value; less is not measured)."""

_registered = False


def latency_factor(reference: Any, current: Any) -> float:
    """e^W, W the Wasserstein distance between the log times (each floored at `FLOOR_MS`): 1 for the same
    distribution, c when every time was multiplied (or divided) by c."""
    from scipy import stats

    ref = np.log(np.maximum(np.asarray(reference, dtype=float), FLOOR_MS))
    cur = np.log(np.maximum(np.asarray(current, dtype=float), FLOOR_MS))
    return float(np.exp(stats.wasserstein_distance(ref, cur)))


def _latency_drift(reference: Any, current: Any, feature_type: Any, threshold: float) -> tuple[float, bool]:
    factor = latency_factor(reference, current)
    return factor, factor >= threshold


def timing_method() -> str:
    """The test's name for the preset's `per_column_method` (registered on first use)."""
    global _registered
    if not _registered:
        from evidently.legacy.calculations.stattests.registry import StatTest, register_stattest
        from evidently.legacy.core import ColumnType

        test = StatTest(
            name=NAME,
            display_name="Latency factor (Wasserstein distance of log times, as a factor)",
            allowed_feature_types=[ColumnType.Numerical],
            default_threshold=FACTOR,
        )
        register_stattest(test, _latency_drift)
        _registered = True
    return NAME
