"""The template environment: autoescaping on for every template, helpers for numbers and times."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChainableUndefined, Environment, FileSystemLoader, Undefined, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None or isinstance(value, Undefined) else f"{value:,.{digits}f}"


def _usd(value: float | None) -> str:
    if value is None or isinstance(value, Undefined):
        return "—"
    return f"${value:,.2f}" if abs(value) >= 0.01 or value == 0 else f"${value:,.5f}"


def _when(value: datetime | str | None) -> str:
    if value is None or isinstance(value, Undefined):
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@cache
def environment() -> Environment:
    """One environment per process; autoescape is on for every file, whatever its extension. A key a
    stored document lacks (older rows) renders as nothing rather than failing the page."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True,
                      default_for_string=True), undefined=ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=_num, usd=_usd, when=_when)
    return env


def render(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """Template *name* with *context* plus the request, as an HTML response."""
    html = environment().get_template(name).render({"request": request, "user": None, **context})
    return HTMLResponse(html, status_code=status_code)
