"""Checking five-field cron expressions and timezones when a watch is declared.

The scheduler fires them later; here we only make sure a typo is caught at `turnout apply`.
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


def check_cron(expression: str) -> None:
    """Raise ValueError naming the bad field unless *expression* is a valid five-field cron line."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"cron schedule {expression!r} must have 5 fields (minute hour day month weekday), "
                         f"not {len(fields)}")
    for text, (label, low, high, names) in zip(fields, _FIELDS, strict=True):
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
