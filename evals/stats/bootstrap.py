"""A seeded BCa bootstrap interval for a mean, for bounded scores whose distribution is skewed.

Bias-corrected and accelerated (Efron & Tibshirani 1993, §14.3); it follows the same steps as
`scipy.stats.bootstrap(method="BCa")`, with the jackknife acceleration of a mean in closed form.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from evals.stats.estimate import FloatArray, check_probability

CHUNK_ELEMENTS = 1_000_000
"""Resampled values gathered at once: a few MB, which stay in cache (larger chunks ran slower)."""

MAX_SHARED_BYTES = 256 * 2**20
"""Index matrices a `Resampler` keeps, at most; beyond that it draws again for each array."""


class Resampler:
    """Seeded bootstrap resamples, drawn once per (cases, resamples, seed) and reused for every array.

    Every run of a cycle and every paired difference of the same cases has the same number of cases
    and the same seed, so they are resampled with the same indices: drawing those once is exact
    (the same numbers as drawing them for each array) and saves most of the bootstrap's time. Keep
    one for one analysis step; it holds up to `max_bytes` of indices.
    """

    def __init__(self, *, max_bytes: int = MAX_SHARED_BYTES) -> None:
        """Share up to *max_bytes* of resampled indices (0 shares none)."""
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, not {max_bytes}")
        self._max_bytes = max_bytes
        self._held = 0
        self._indices: dict[tuple[int, int, int], npt.NDArray[np.unsignedinteger[Any]]] = {}

    def means(self, x: FloatArray, *, resamples: int, seed: int) -> FloatArray:
        """The means of *resamples* resamples of *x* drawn with replacement, from a seeded generator."""
        if resamples < 1:
            raise ValueError(f"resamples must be at least 1, not {resamples}")
        n = len(x)
        shared = self._shared(n, resamples, seed)
        rng = np.random.default_rng(seed) if shared is None else None
        rows = min(resamples, max(1, CHUNK_ELEMENTS // max(n, 1)))
        # np.take is twice as fast with native indices: widen each chunk of shared ones into a buffer.
        picked = np.empty((rows, n), dtype=np.intp)
        values = np.empty((rows, n), dtype=np.float64)
        means = np.empty(resamples, dtype=np.float64)
        for start in range(0, resamples, rows):
            k = min(rows, resamples - start)
            if shared is not None:
                np.copyto(picked[:k], shared[start:start + k])
            else:
                assert rng is not None
                picked[:k] = rng.integers(0, n, size=(k, n))
            np.take(x, picked[:k], out=values[:k])
            means[start:start + k] = values[:k].mean(axis=1)
        return means

    def _shared(self, n: int, resamples: int, seed: int) -> npt.NDArray[np.unsignedinteger[Any]] | None:
        key = (n, resamples, seed)
        if key in self._indices:
            return self._indices[key]
        dtype = np.uint16 if n <= 2**16 else np.uint32
        size = n * resamples * np.dtype(dtype).itemsize
        if n > 2**32 or self._held + size > self._max_bytes:
            return None
        rng = np.random.default_rng(seed)
        rows = max(1, CHUNK_ELEMENTS // max(n, 1))
        indices = np.empty((resamples, n), dtype=dtype)
        for start in range(0, resamples, rows):
            stop = min(start + rows, resamples)
            indices[start:stop] = rng.integers(0, n, size=(stop - start, n))
        self._indices[key] = indices
        self._held += size
        return indices


def bootstrap_means(
    x: FloatArray, *, resamples: int, seed: int, resampler: Resampler | None = None
) -> FloatArray:
    """The means of *resamples* resamples of *x* drawn with replacement, from a seeded generator.

    With a *resampler*, arrays of the same length and seed share one set of drawn indices.
    """
    return (resampler or Resampler(max_bytes=0)).means(x, resamples=resamples, seed=seed)


def bca_interval(
    x: FloatArray, *, confidence: float, resamples: int, seed: int, resampler: Resampler | None = None
) -> tuple[float, float]:
    """The two-sided BCa bootstrap interval for the mean of *x*.

    Args:
        x: One value per case; at least 2.
        confidence: Coverage of the interval, e.g. 0.95.
        resamples: Bootstrap resamples; 2000 keeps the Monte-Carlo error of the bounds small.
        seed: Seed of the resampling, so the same data always give the same interval.
        resampler: Shares the drawn indices with other arrays of as many cases (same interval).

    Returns:
        (low, high), which always contains the sample mean.
    """
    check_probability("confidence", confidence)
    mean = float(x.mean())
    boot = bootstrap_means(x, resamples=resamples, seed=seed, resampler=resampler)

    # Bias correction: how far the bootstrap distribution sits off the estimate (ties count half).
    below = int(np.count_nonzero(boot < mean) + np.count_nonzero(boot <= mean)) / (2.0 * resamples)
    below = min(max(below, 0.5 / resamples), 1.0 - 0.5 / resamples)
    z0 = float(special.ndtri(below))

    # Acceleration from the jackknife; for a mean it reduces to the skewness of the deviations.
    dev = x - mean
    spread = float(np.sum(dev**2))
    accel = float(np.sum(dev**3)) / (6.0 * spread * math.sqrt(spread)) if spread > 0 else 0.0

    def level(z: float) -> float:
        shifted = z0 + z
        return float(special.ndtr(z0 + shifted / (1.0 - accel * shifted)))

    z = float(special.ndtri(0.5 + confidence / 2.0))
    low, high = np.percentile(boot, [100.0 * level(-z), 100.0 * level(z)])
    # The percentile levels never cross the estimate in theory; guard against rounding.
    return min(float(low), mean), max(float(high), mean)
