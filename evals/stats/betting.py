"""A conservative interval for a bounded mean, valid at every n: confidence by betting.

Waudby-Smith & Ramdas (2024), "Estimating means of bounded random variables by betting", JRSSB
86(1):1-27, the hedged capital process with predictable plug-in bets for a fixed n (their §4 and
Remark 3). For a candidate mean m, a gambler bets on each observation in turn that it lies above m
(and, with the other half of the stake, below); the capital is a nonnegative martingale when m is
the true mean, so by Markov's inequality it reaches 1 / alpha with probability at most alpha. The
interval is every m where it does not. No normal approximation: the coverage holds for any
distribution on the bounded range, which is what small segments and few clusters need.

Observations may carry weights in (0, 1] (cluster sizes over the largest): the bet on a cluster's
mean is scaled by its weight, which keeps the capital a martingale for the size-weighted mean.
The capital is averaged over seeded orderings (an average of e-values is an e-value), so the
interval does not depend on the order the cases come in.
"""

from __future__ import annotations

import math

import numpy as np

from evals.stats.estimate import FloatArray, check_probability

GRID = 2001
"""Candidate means tried on [0, 1]; the bounds are rounded outwards to this grid (1/2000 of the range)."""

ORDERINGS = 8
"""Seeded orderings the capital is averaged over."""

MAX_BET = 0.5
"""The largest fraction of the capital staked, relative to the worst loss (WSR's c = 1/2)."""


def betting_interval(
    y: FloatArray, *, confidence: float, seed: int, weights: FloatArray | None = None
) -> tuple[float, float]:
    """The betting interval for the (weighted) mean of *y*, every value in [0, 1].

    Args:
        y: One value per independent unit (case, or cluster mean), each in [0, 1].
        confidence: Two-sided coverage, e.g. 0.95.
        seed: Seed of the orderings, so the same data always give the same interval.
        weights: Per-unit weights in (0, 1] (None: all 1); the mean is sum(w y) / sum(w).

    Returns:
        (low, high) inside [0, 1], containing the weighted mean of *y*.
    """
    check_probability("confidence", confidence)
    if len(y) == 0:
        raise ValueError("a betting interval needs at least one observation")
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    alpha = 1.0 - confidence
    m = np.linspace(0.0, 1.0, GRID)[:, None]
    rng = np.random.default_rng(seed)
    capital = np.zeros(GRID)
    for _ in range(ORDERINGS):
        order = rng.permutation(len(y))
        capital += _hedged_capital(y[order], w[order], m, alpha)
    accepted = capital / ORDERINGS < 1.0 / alpha
    mean = float(np.sum(w * y) / np.sum(w))
    if not accepted.any():  # cannot happen in theory: the capital at the mean stays small
        return mean, mean
    step = 1.0 / (GRID - 1)
    idx = np.flatnonzero(accepted)
    low = max(0.0, float(m[idx[0], 0]) - step)
    high = min(1.0, float(m[idx[-1], 0]) + step)
    return min(low, mean), max(high, mean)


def _hedged_capital(y: FloatArray, w: FloatArray, m: FloatArray, alpha: float) -> FloatArray:
    n = len(y)
    # Predictable plug-in bets: each uses only the observations before it (shifted by one).
    t = np.arange(1, n + 1, dtype=np.float64)
    centred = (y - (0.5 + np.cumsum(y)) / (t + 1.0)) ** 2
    running_var = (0.25 + np.concatenate(([0.0], np.cumsum(centred)[:-1]))) / t
    bet = np.sqrt(2.0 * math.log(2.0 / alpha) / (n * running_var))[None, :]
    with np.errstate(divide="ignore"):
        up = np.minimum(bet, MAX_BET / np.maximum(m, 1e-12))
        down = np.minimum(bet, MAX_BET / np.maximum(1.0 - m, 1e-12))
    deviation = (w * y)[None, :] - w[None, :] * m
    log_up = np.sum(np.log1p(up * deviation), axis=1)
    log_down = np.sum(np.log1p(-down * deviation), axis=1)
    # Hedged: half the stake on each side; the max of the halves is below their sum, an e-value.
    return np.asarray(np.maximum(0.5 * np.exp(log_up), 0.5 * np.exp(log_down)), dtype=np.float64)
