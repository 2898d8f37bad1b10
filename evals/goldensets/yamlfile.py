"""YAML golden sets: a mapping whose `cases:` list holds case mappings.

```yaml
cases:
  - id: capital-fr
    input: What is the capital of France?
    expected: Paris
    tags: [lang:en, task:qa]
```
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from evals.cases import Case
from evals.errors import GoldenSetError, ProblemCollector
from evals.goldensets.common import (
    TEXT_FIELDS,
    Located,
    finish,
    kind_of,
    read_text,
    validate,
)
from evals.yamllines import LineDict, LineList, line_of, parse_yaml, plain_case_data

_SHAPE = "a golden-set YAML file is a mapping with a `cases:` list"


def read_yaml(path: Path) -> tuple[Case, ...]:
    """Read a YAML golden set.

    Text fields are taken as written (`expected: 4` is the text "4"); errors point at the line of
    the failing field.

    Args:
        path: The `.yaml` / `.yml` file.

    Returns:
        The cases, in file order.

    Raises:
        GoldenSetError: Naming the file, line and field of the problem.
        ConfigProblems: When several cases are bad: each one, with its line and field.
    """
    document = parse_yaml(read_text(path), file=path, error=GoldenSetError)
    if document is None:
        raise GoldenSetError("no cases: the file is empty", file=path)
    if isinstance(document, LineList):
        raise GoldenSetError(
            f"{_SHAPE}, found a list: put the cases under `cases:`", file=path, line=document.line
        )
    if not isinstance(document, LineDict):
        raise GoldenSetError(f"{_SHAPE}, found {kind_of(document)}", file=path, line=1)
    for key in document:
        if key != "cases":
            raise GoldenSetError(
                f"unknown top-level key ({_SHAPE})",
                file=path,
                line=document.key_lines[key],
                field=str(key),
            )
    if "cases" not in document:
        raise GoldenSetError(f"{_SHAPE}; `cases:` is missing", file=path, line=document.line)
    items = document["cases"]
    if not isinstance(items, LineList):
        raise GoldenSetError(
            f"`cases:` must be a list, found {kind_of(items)}",
            file=path,
            line=document.key_lines["cases"],
            field="cases",
        )
    collector = ProblemCollector(file=path)
    found: list[Located] = []
    for index, item in enumerate(items):
        line = items.item_lines[index]
        with collector.catching():
            if not isinstance(item, LineDict):
                raise GoldenSetError(
                    f"a case must be a mapping of fields, got {kind_of(item)}",
                    file=path,
                    line=line,
                    field=f"cases[{index}]",
                )
            case = validate(
                Case,
                plain_case_data(item, TEXT_FIELDS),
                file=path,
                line=line,
                locate=partial(line_of, item),
            )
            found.append(Located(case, str(path), line))
    collector.raise_if_any()
    return finish(found, file=path)
