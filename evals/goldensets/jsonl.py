"""JSONL golden sets: one case object per line, in the shape of `Case.to_data()`."""

from __future__ import annotations

from pathlib import Path

from evals.cases import Case
from evals.errors import ProblemCollector
from evals.goldensets.common import Located, finish, parse_json_line, read_text, validate


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
        GoldenSetError: Naming the file, line and field of the problem.
        ConfigProblems: When several lines are bad: each one, with its line and field.
    """
    collector = ProblemCollector(file=path)
    found: list[Located] = []
    # Only "\n" ends a record: str.splitlines() would also split inside strings at U+2028.
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        with collector.catching():
            data = parse_json_line(line, file=path, line=number)
            found.append(Located(validate(Case, data, file=path, line=number), str(path), number))
    collector.raise_if_any()
    return finish(found, file=path)
