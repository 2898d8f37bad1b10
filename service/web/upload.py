"""A golden set uploaded or edited in the browser: read by the API's `read_golden_file`, as
`PUT /api/v1/golden-sets/{name}/file` reads it, every problem kept with its line."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from evals.cases import GoldenSet, Privacy
from evals.errors import ConfigError, ConfigProblems
from evals.goldensets import Format
from service.api.golden_file import read_golden_file

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""The largest golden set the browser may send; bigger ones go through `turnout apply`."""

UPLOAD_FORMATS: tuple[Format, ...] = ("jsonl", "yaml", "csv", "openai-evals")
"""Formats a single uploaded file can hold (promptfoo configs name other files: use `turnout apply`)."""

CONTEXT_LINES = 2
"""Lines shown around each problem of a large upload (or declaration)."""
FULL_LISTING_LINES = 400
"""Uploads up to this many lines are listed whole beside their problems."""

SUFFIX = {"jsonl": ".jsonl", "yaml": ".yaml", "csv": ".csv", "openai-evals": ".jsonl"}


@dataclass(frozen=True)
class Problem:
    """One problem of the upload, with the line it is on (None: the whole file)."""

    line: int | None
    field: str | None
    message: str


@dataclass
class Checked:
    """An upload read: the golden set, or the problems that stop it."""

    golden_set: GoldenSet | None
    problems: list[Problem] = field(default_factory=list)


def file_name(name: str, filename: str | None, format: Format) -> str:
    """The name problems are reported against: the uploaded file's base name, else one made of the set's."""
    base = Path((filename or "").replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base)[:100]
    return base if base and base not in (".", "..") else f"{name}{SUFFIX[format]}"


def check_upload(*, name: str, privacy: Privacy, text: str, format: Format, filename: str,
                 fields: str = "") -> Checked:
    """Read *text* as golden set *name* in *format*, its fields mapped by *fields* (JSON, as `fields:` in
    turnout.yaml; empty for none); every problem comes back with its line."""
    if not name.strip():
        return Checked(None, [Problem(None, "name", "give the golden set a name")])
    mapping = None
    if fields.strip():
        try:
            mapping = json.loads(fields)
        except json.JSONDecodeError as exc:
            return Checked(None, [Problem(None, "fields", f"not JSON: {exc.msg} (column {exc.colno})")])
    try:
        golden_set, _ = read_golden_file(name=name.strip(), filename=filename, content=text.encode("utf-8"),
                                         file_format=format, privacy=privacy, fields=mapping)
    except ConfigProblems as exc:
        problems = [Problem(p.line, p.field, p.reason) for p in exc.problems]
        if exc.more:
            problems.append(Problem(None, None, f"and {exc.more} more problem(s)"))
        return Checked(None, problems)
    except ConfigError as exc:
        return Checked(None, [Problem(exc.line, exc.field, exc.reason)])
    return Checked(golden_set)


def listing(text: str, problems: list[Problem]) -> list[tuple[int | None, str, list[Problem]]]:
    """The lines of an upload (or a declaration) with their problems; past FULL_LISTING_LINES only those near a
    problem, with `…` for the lines left out."""
    lines = text.splitlines()
    by_line: dict[int, list[Problem]] = {}
    for problem in problems:
        if problem.line is not None:
            by_line.setdefault(problem.line, []).append(problem)
    if len(lines) <= FULL_LISTING_LINES:
        shown = set(range(1, len(lines) + 1))
    else:
        shown = {n for line in by_line for n in range(line - CONTEXT_LINES, line + CONTEXT_LINES + 1)}
    out: list[tuple[int | None, str, list[Problem]]] = []
    previous = 0
    for number in sorted(n for n in shown if 1 <= n <= len(lines)):
        if number != previous + 1:
            out.append((None, "…", []))
        out.append((number, lines[number - 1], by_line.get(number, [])))
        previous = number
    return out
