"""Any JSONL or CSV file read through a field mapping (inspect_ai, Hugging Face exports, sheets).

```yaml
golden_sets:
  - name: qa
    file: data.jsonl
    fields: {input: question, expected: target, id: sample_id, tags: [category]}
```

Each case field names the column (or JSON key) it comes from; `tags: [lang]` makes the tag
`lang:<value>` from each row. Columns not mapped are kept in `metadata`. Without an `id`
column an id is made from the content hash of the row's case (`sha-<12 hex digits>`). With
`choices:` mapped, a row with choices is an inspect_ai multiple-choice sample
(:mod:`evals.goldensets.choices`); a row with a `choices` list that is not mapped is refused. Every
problem of the file is reported at once, up to :data:`PROBLEM_LIMIT`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from evals.cases import Case
from evals.errors import GoldenSetError, ProblemCollector
from evals.goldensets.choices import multiple_choice
from evals.goldensets.common import Located, finish, json_lines, kind_of, read_text, validate
from evals.goldensets.csvfile import csv_rows, read_header, row_cells

PROBLEM_LIMIT = 20
"""How many problems of one file are listed; the rest are counted."""


class FieldMap(BaseModel):
    """Where each case field comes from in a row: a column name (CSV) or key (JSONL)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: str
    """The column holding the prompt (or, in JSONL, a list of {role, content} messages)."""
    expected: str | None = None
    """The reference answer; a list of answers in JSONL gives the first as expected, the rest accepted."""
    id: str | None = None
    """The case id; without it, ids are made from the content hash."""
    context: str | None = None
    criteria: str | None = None
    cluster: str | None = None
    tags: list[str] = Field(default_factory=list)
    """Columns that each make a `<column>:<value>` tag."""
    choices: str | None = None
    """inspect_ai multiple choice: the column of the choices; `expected` is then the target letter(s)."""


@dataclass(frozen=True)
class MappedCases:
    """The cases of a mapped file, and how many got a generated id."""

    cases: tuple[Case, ...]
    generated_ids: int


def _rows(path: Path) -> list[tuple[int, Any]]:
    if path.suffix.lower() == ".csv":
        rows = csv_rows(read_text(path), file=path)
        first = next(rows, None)
        if first is None:
            raise GoldenSetError("no cases: the file is empty", file=path)
        columns = read_header(first[1], file=path, line=first[0], known=None, lower=False)
        return [(line, row_cells(columns, row, file=path, line=line)) for line, row in rows]
    return list(json_lines(path))


def _text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _choice_data(row: dict[str, Any], fields: FieldMap, *, path: Path, line: int) -> dict[str, Any] | None:
    """A multiple-choice sample's input, expected and metadata; None for a row without choices."""
    if fields.choices is None:
        if isinstance(row.get("choices"), list):
            raise GoldenSetError("the row has multiple-choice `choices`, which `fields:` does not map; add "
                                 "`choices: choices` to render them into the prompt as inspect_ai does",
                                 file=path, line=line, field="choices")
        return None
    if row.get(fields.choices) in (None, "", []):
        return None
    if fields.expected is None or row.get(fields.expected) in (None, ""):
        raise GoldenSetError(f"a multiple-choice sample needs its target letter in {fields.expected or 'expected'!r}",
                             file=path, line=line, field=fields.expected or "fields.expected")
    return multiple_choice(row.get(fields.input), row[fields.choices], row[fields.expected], file=str(path),
                           line=line, fields=(fields.input, fields.choices, fields.expected))


def _case_data(row: dict[str, Any], fields: FieldMap, *, path: Path, line: int) -> dict[str, Any]:
    used = {fields.input, *fields.tags, *([fields.choices] if fields.choices else [])}
    data: dict[str, Any] = {}
    choice = _choice_data(row, fields, path=path, line=line)
    for name in ("input", "expected", "id", "context", "criteria", "cluster"):
        column = getattr(fields, name)
        if column is None:
            continue
        used.add(column)
        if column not in row or row[column] in (None, ""):
            if name == "input":
                raise GoldenSetError(f"the row has no {column!r} (mapped to input)", file=path, line=line,
                                     field=column)
            continue
        value = row[column]
        if choice is not None and name in ("input", "expected"):
            data[name] = choice[name]
            continue
        if name == "expected" and isinstance(value, list):
            if not value or not all(isinstance(item, str) for item in value):
                raise GoldenSetError("a list of expected answers must be strings", file=path, line=line, field=column)
            data["expected"], data["accepted"] = value[0], value[1:]
            continue
        data[name] = value if name == "input" else _text(value)
    tags = []
    for column in fields.tags:
        value = row.get(column)
        if isinstance(value, list):
            tags += [f"{column}:{_text(item)}" for item in value]
        elif value not in (None, ""):
            tags.append(f"{column}:{_text(value)}")
    data["tags"] = tags
    extra = {key: value for key, value in row.items() if key not in used and value not in (None, "")}
    if choice is not None:
        extra.update(choice["metadata"])
    if extra:
        data["metadata"] = extra
    return data


def read_mapped(path: Path, *, fields: FieldMap) -> MappedCases:
    """Read a JSONL or CSV file whose columns are named by *fields*.

    Raises:
        ConfigProblems: Every problem found (or GoldenSetError when there is exactly one).
    """
    collector = ProblemCollector(file=path, limit=PROBLEM_LIMIT)
    found: list[Located] = []
    generated = 0
    for line, row in _rows(path):
        with collector.catching():
            if not isinstance(row, dict):
                raise GoldenSetError(f"a row must be a JSON object, got {kind_of(row)}", file=path, line=line)
            data = _case_data(row, fields, path=path, line=line)
            if "id" not in data:
                # The hash of the case without its id: the same row keeps its id across versions.
                provisional = validate(Case, {**data, "id": "-"}, file=path, line=line)
                data["id"] = f"sha-{provisional.content_hash[:12]}"
                generated += 1
            found.append(Located(validate(Case, data, file=path, line=line), str(path), line))
    collector.raise_if_any()
    return MappedCases(finish(found, file=path), generated)
