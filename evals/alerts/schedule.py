"""When a failed delivery is tried again: about 1 s, 5 s, 30 s, 2 min, 10 min, 30 min, then hourly for 24 h."""

from __future__ import annotations

BACKOFF_S: tuple[float, ...] = (1, 5, 30, 120, 600, 1800)
"""Waits after the first failures; after them, `HOURLY_S` until `GIVE_UP_AFTER_S`."""
HOURLY_S = 3600.0
GIVE_UP_AFTER_S = 24 * 3600.0
"""An alert still not delivered this long after it was made is `failed`."""


def retry_delay(*, failures: int, age_s: float, retry_after_s: float | None = None) -> float | None:
    """Seconds to wait before the next attempt, or None to give up.

    Args:
        failures: Failed attempts so far, this one included (at least 1).
        age_s: Seconds since the alert was made.
        retry_after_s: The receiver's `Retry-After`; never waited less than that.

    Returns:
        The wait; None once the alert is older than `GIVE_UP_AFTER_S`.
    """
    if age_s >= GIVE_UP_AFTER_S:
        return None
    wait = BACKOFF_S[failures - 1] if 0 < failures <= len(BACKOFF_S) else HOURLY_S
    return max(wait, retry_after_s or 0.0)
