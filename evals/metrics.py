"""Plain summaries of a run: means and latency percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean, or None for no values."""
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The *q*-th percentile (0-100) with linear interpolation (numpy's default), or None for no values."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0-100, not {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class LatencySummary:
    """A run's latency percentiles over its answered completions."""

    p50_ms: float | None
    """Median latency in ms; None without answers."""
    p95_ms: float | None
    """95th percentile latency in ms; None without answers."""


def summarize_latency(latencies_ms: Sequence[float]) -> LatencySummary:
    """The percentiles of *latencies_ms* (linear interpolation, as `percentile`)."""
    return LatencySummary(p50_ms=percentile(latencies_ms, 50), p95_ms=percentile(latencies_ms, 95))
