"""CSV golden sets: header `id,input,expected,tags`, one case per row.

Tags are separated by `;` (`lang:fr;doc:long`). Optional columns: `context`, `criteria`,
`cluster`. Empty cells mean "not given". A quoted cell may span several lines; errors name the
line where the row starts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evals.cases import Case
from evals.errors import GoldenSetError, ProblemCollector
from evals.goldensets.common import Located, finish, read_text, validate

REQUIRED_COLUMNS = ("id", "input")
OPTIONAL_COLUMNS = ("expected", "tags", "context", "criteria", "cluster")
_KNOWN = ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)


def csv_rows(text: str, *, file: str | Path) -> Iterator[tuple[int, list[str]]]:
    """Yield `(line where the row starts, cells)` for each non-blank row of CSV *text*.

    Raises:
        GoldenSetError: On malformed CSV.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    next_line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise GoldenSetError(f"invalid CSV: {exc}", file=file, line=next_line) from None
        start, next_line = next_line, reader.line_num + 1
        if any(cell.strip() for cell in row):
            yield start, row


def read_header(
    row: list[str],
    *,
    file: str | Path,
    line: int,
    known: tuple[str, ...] | None,
    lower: bool = True,
) -> list[str]:
    """Normalise a header row (trimmed, and lower case unless told not to); check its names.

    Args:
        row: The header cells.
        file: For messages.
        line: The header's line.
        known: The accepted column names, or None to accept any name.
        lower: Compare names in lower case (not for promptfoo vars, which are case-sensitive).

    Returns:
        The column names.
    """
    columns = [cell.strip().lower() if lower else cell.strip() for cell in row]
    for position, name in enumerate(columns, start=1):
        if not name:
            raise GoldenSetError(
                f"column {position} of the header has no name", file=file, line=line
            )
        if known is not None and name not in known:
            raise GoldenSetError(
                f"unknown column (accepted columns: {_KNOWN})", file=file, line=line, field=name
            )
        if columns.index(name) != position - 1:
            raise GoldenSetError(
                "column appears twice in the header", file=file, line=line, field=name
            )
    return columns


def row_cells(columns: list[str], row: list[str], *, file: str | Path, line: int) -> dict[str, str]:
    """Pair a row's cells with the header; a short row leaves its last columns empty."""
    if len(row) > len(columns):
        raise GoldenSetError(
            f"row has {len(row)} cells but the header has {len(columns)} columns "
            "(quote cells that contain commas)",
            file=file,
            line=line,
        )
    return dict(zip(columns, row + [""] * (len(columns) - len(row)), strict=True))


def read_csv(path: Path) -> tuple[Case, ...]:
    """Read a CSV golden set.

    Args:
        path: The `.csv` file.

    Returns:
        The cases, in file order.

    Raises:
        GoldenSetError: Naming the file, line and column of the problem.
        ConfigProblems: When several rows are bad: each one, with its line and column.
    """
    rows = csv_rows(read_text(path), file=path)
    first = next(rows, None)
    if first is None:
        raise GoldenSetError("no cases: the file is empty", file=path)
    header_line, header = first
    columns = read_header(
        header, file=path, line=header_line, known=REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    )
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            raise GoldenSetError(
                f"the header lacks the required column {name!r} (header: {','.join(columns)})",
                file=path,
                line=header_line,
                field=name,
            )
    collector = ProblemCollector(file=path)
    found: list[Located] = []
    for line, row in rows:
        with collector.catching():
            cells = row_cells(columns, row, file=path, line=line)
            data: dict[str, Any] = {"id": cells["id"].strip(), "input": cells["input"]}
            for name in OPTIONAL_COLUMNS:
                value = cells.get(name, "")
                if value.strip():
                    data[name] = value.strip() if name == "cluster" else value
            found.append(Located(validate(Case, data, file=path, line=line), str(path), line))
    collector.raise_if_any()
    return finish(found, file=path)
