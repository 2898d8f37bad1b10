"""JSONL golden sets: one case object per line, in the shape of `Case.to_data()`."""

from __future__ import annotations

from pathlib import Path

from evals.cases import Case
from evals.goldensets.common import Located, finish, json_lines, validate


def read_jsonl(path: Path) -> tuple[Case, ...]:
    """Read a JSONL golden set; blank lines are skipped.

    Each line is a JSON object with the fields of a case: `id`, `input` (a string or a list of
    `{role, content}` messages), `context`, `expected`, `criteria`, `assert`, `tags`, `cluster`,
    `metadata`.

    Args:
        path: The `.jsonl` / `.ndjson` file.

    Returns:
        The cases, in file order.

    Raises:
        GoldenSetError: Naming the file, line and field of the first problem.
    """
    found = [Located(validate(Case, data, file=path, line=number), str(path), number)
             for number, data in json_lines(path)]
    return finish(found, file=path)
