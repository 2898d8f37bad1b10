"""Power of a paired comparison: the smallest difference it can detect, and the cases it needs.

Normal approximation (Miller 2024, arXiv 2411.00640, §5): a two-sided test at level alpha detects a
true difference delta with probability `power` when delta >= (z_{1-alpha/2} + z_{power}) * SE, and
SE = sd / sqrt(n). With clustered cases `sd` is the effective per-case SD (SE * sqrt(n)), so the
design effect of the clusters carries over to the size needed.
"""

from __future__ import annotations

import math

from scipy import special

from evals.stats.estimate import check_probability


def _z_sum(alpha: float, power: float) -> float:
    check_probability("alpha", alpha)
    check_probability("power", power)
    return float(special.ndtri(1.0 - alpha / 2.0) + special.ndtri(power))


def min_detectable_difference(sd: float, n: int, *, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """The minimum detectable difference (MDE) of a paired comparison of *n* cases.

    Args:
        sd: Standard deviation of the per-case differences (effective SD when clustered).
        n: Cases compared.
        alpha: Two-sided significance level.
        power: Probability of detecting a true difference of the returned size.

    Returns:
        The MDE, or None when there is no case or the SD is unknown (not finite).
    """
    if sd < 0:
        raise ValueError(f"a standard deviation cannot be negative, not {sd}")
    z = _z_sum(alpha, power)
    if n < 1 or not math.isfinite(sd):
        return None
    return z * sd / math.sqrt(n)


def cases_needed(sd: float, margin: float, *, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """The cases a paired comparison needs to detect a difference of *margin*.

    Args:
        sd: Standard deviation of the per-case differences (effective SD when clustered).
        margin: The difference to detect; its size is what counts.
        alpha: Two-sided significance level.
        power: Probability of detecting it.

    Returns:
        At least 2 (a spread needs two cases), or None when margin is 0 or the SD is not finite.
    """
    if sd < 0:
        raise ValueError(f"a standard deviation cannot be negative, not {sd}")
    z = _z_sum(alpha, power)
    if margin == 0 or not (math.isfinite(sd) and math.isfinite(margin)):
        return None
    return max(2, math.ceil((z * sd / abs(margin)) ** 2))
