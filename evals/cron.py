"""Cron expressions and timezones of watches: checked at `turnout apply`, expanded for the scheduler.

Five fields (minute hour day month weekday) as in crontab, weekday 0 or 7 = Sunday; an optional
sixth, leading field gives the second (used by tests and by watches that fire more than once a minute).
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}),
    ("day of week", 0, 7, {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}),
)
_PART = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?$")


_SECOND: tuple[str, int, int, dict[str, int]] = ("second", 0, 59, {})
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_fields(expression: str) -> dict[str, str]:
    """The fields of a checked expression by name: second, minute, hour, day, month, day_of_week.

    The weekday is spelled out as names (`mon,wed`), so no scheduler can read 0 as Monday.
    """
    check_cron(expression)
    fields = expression.split()
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, weekday = fields
    return {"second": second, "minute": minute, "hour": hour, "day": day, "month": month,
            "day_of_week": weekday if weekday == "*" else ",".join(WEEKDAYS[d] for d in sorted(_expand(weekday)))}


def _expand(text: str) -> set[int]:
    """The weekdays (0 = Sunday) of a weekday field."""
    days: set[int] = set()
    names = _FIELDS[4][3]
    for part in text.lower().split(","):
        match = _PART.match(part)
        assert match is not None
        base, step = match.groups()
        if base == "*":
            low, high = 0, 6
        else:
            bounds = [names.get(b, int(b) if b.isdigit() else 0) for b in base.split("-")]
            low, high = bounds[0], bounds[-1]
            if step is not None and len(bounds) == 1:
                high = 7
        days.update(day % 7 for day in range(low, high + 1, int(step or 1)))
    return days


def check_cron(expression: str) -> None:
    """Raise ValueError naming the bad field unless *expression* is a valid cron line."""
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise ValueError(f"cron schedule {expression!r} must have 5 fields (minute hour day month weekday), "
                         f"or 6 with a leading second, not {len(fields)}")
    specs = (_SECOND, *_FIELDS) if len(fields) == 6 else _FIELDS
    for text, (label, low, high, names) in zip(fields, specs, strict=True):
        for part in text.lower().split(","):
            match = _PART.match(part)
            if match is None:
                raise ValueError(f"cron schedule {expression!r}: bad {label} {part!r}")
            base, step = match.groups()
            if step is not None and int(step) == 0:
                raise ValueError(f"cron schedule {expression!r}: step 0 in {label}")
            if base == "*":
                continue
            for bound in base.split("-"):
                value = names.get(bound, int(bound) if bound.isdigit() else None)
                if value is None or not low <= value <= high:
                    raise ValueError(f"cron schedule {expression!r}: {label} {bound!r} is not in {low}-{high}")


def check_timezone(name: str) -> None:
    """Raise ValueError unless *name* is an IANA timezone such as `Europe/Paris`."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}; use an IANA name such as UTC or Europe/Paris") from None
