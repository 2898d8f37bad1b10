"""py-spy's collapsed stacks (`--profile`), summarized by area and by function."""

from __future__ import annotations

import re
from pathlib import Path

from bench.common import ROOT

_AREAS = {"openai": "openai SDK", "httpx2": "httpx2/httpcore", "httpcore": "httpx2/httpcore", "h11": "httpx2/httpcore",
          "anyio": "anyio", "pydantic": "pydantic", "pydantic_core": "pydantic", "sqlalchemy": "SQLAlchemy/SQLModel",
          "sqlmodel": "SQLAlchemy/SQLModel", "sqlite3": "sqlite3/psycopg", "psycopg": "sqlite3/psycopg",
          "evals": "Turnout evals/", "jobs": "Turnout jobs/", "service": "Turnout service/", "numpy": "numpy/scipy",
          "scipy": "numpy/scipy", "alembic": "alembic"}
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:]*)(?::\d+)?\)$")


def _frame(frame: str) -> tuple[str, str]:
    """`func (path:line)` as (func in path, the path's top-level package or module)."""
    found = _FRAME.match(frame)
    if found is None:
        return frame, ""
    path = found["file"].replace(str(ROOT) + "/", "")
    return f"{found['func']} ({path})", path.split("/", 1)[0].removesuffix(".py")


def summarize_profile(path: Path, top: int = 15) -> str:
    """py-spy's collapsed stacks as: the share of on-CPU samples per area (the library of the
    innermost frame that is not the standard library; imports apart), the hottest functions, and
    Turnout's functions counted with everything they call."""
    areas: dict[str, int] = {}
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";") if not f.startswith("process ")]  # py-spy's own root
        total += n
        if not frames:
            areas["native (no Python frame)"] = areas.get("native (no Python frame)", 0) + n
            continue
        if any("importlib._bootstrap" in name for name, _ in frames):
            area = "imports (start-up)"
        else:
            area = next((_AREAS[pkg] for _, pkg in reversed(frames) if pkg in _AREAS), "stdlib (asyncio loop...)")
        areas[area] = areas.get(area, 0) + n
        own[frames[-1][0]] = own.get(frames[-1][0], 0) + n
        for name in {name for name, pkg in frames if pkg in ("evals", "jobs", "service")}:
            inclusive[name] = inclusive.get(name, 0) + n
    if not total:
        return "no samples"

    def ranked(table: dict[str, int], k: int) -> list[str]:
        return [f"  {v / total:6.1%}  {name}" for name, v in sorted(table.items(), key=lambda kv: -kv[1])[:k]]

    return "\n".join([f"{total} samples on CPU", "by area:", *ranked(areas, 20), "hottest functions (self):",
                      *ranked(own, top), "Turnout's functions (with what they call):", *ranked(inclusive, top + 10)])
