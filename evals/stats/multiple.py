"""Corrections for testing many segments at once."""

from __future__ import annotations

from collections.abc import Sequence


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment, controlling the family-wise error rate.

    Args:
        p_values: One p-value per hypothesis, each in [0, 1].

    Returns:
        The adjusted p-values, in the order given: the i-th smallest is
        max over j <= i of min(1, (m - j + 1) * p_(j)).
    """
    for p in p_values:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p-values must lie in [0, 1], not {p}")
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
