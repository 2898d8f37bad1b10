"""Hysteresis: a verdict is announced only once it has held for `hysteresis` consecutive cycles.

A streak is a run of cycles with the same (verdict, to). A failed cycle (no recommendation)
neither extends nor breaks it. The announced verdict stays what it was, `stay` at first, until a
streak reaches `hysteresis` cycles; then the streak's verdict is announced. This module is pure:
the store keeps the last `Announcement` and hands it back with the next cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Verdict = Literal["stay", "switch_advisable", "insufficient_evidence"]
"""A cycle's verdict, or the announced one."""


@dataclass(frozen=True)
class Announcement:
    """The announced verdict of a watch after a cycle, and the streak that leads to the next one."""

    verdict: Verdict = "stay"
    """The announced verdict: what alerts, `turnout advise` and the dashboard show as `verdict`."""
    to: str | None = None
    """The announced target; None unless `verdict` is `switch_advisable`."""
    streak_verdict: Verdict = "stay"
    """The verdict of the current streak (the latest successful cycle's `cycle_verdict`)."""
    streak_to: str | None = None
    """The target of the current streak."""
    consecutive: int = 0
    """Cycles in the current streak (0 before the first successful cycle)."""
    changed: bool = False
    """True when this cycle changed the announced (verdict, to): what an alert is sent for."""


def announce(
    *,
    previous: Announcement | None,
    cycle: tuple[Verdict, str | None] | None,
    hysteresis: int,
) -> Announcement:
    """Fold one cycle into the announcement.

    Args:
        previous: The announcement after the watch's last cycle; None for its first cycle.
        cycle: This cycle's `(cycle_verdict, to)`; None when the cycle failed (no recommendation).
        hysteresis: Consecutive cycles a verdict must hold before it is announced (at least 1).

    Returns:
        The new announcement; after a failed cycle the previous one with `changed` False.

    Raises:
        ValueError: when `hysteresis` is below 1, or `to` does not match the verdict.
    """
    if hysteresis < 1:
        raise ValueError(f"hysteresis must be at least 1, not {hysteresis}")
    before = previous or Announcement()
    if cycle is None:
        return replace(before, changed=False)
    verdict, to = cycle
    if (verdict == "switch_advisable") != (to is not None):
        raise ValueError(f"a cycle verdict {verdict!r} with to={to!r}: `to` names the candidate of a switch only")
    same = before.consecutive > 0 and (before.streak_verdict, before.streak_to) == (verdict, to)
    consecutive = before.consecutive + 1 if same else 1
    announced: tuple[Verdict, str | None] = (verdict, to) if consecutive >= hysteresis else (before.verdict, before.to)
    return Announcement(verdict=announced[0], to=announced[1], streak_verdict=verdict, streak_to=to,
                        consecutive=consecutive, changed=announced != (before.verdict, before.to))

