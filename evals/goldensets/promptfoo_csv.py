"""promptfoo tests written as CSV: one test per row, columns are vars.

Special columns: `__expected` (also `__expected1`, `__expected2`, ...) holds an assertion in
promptfoo's short form (`Paris` means equals, `contains: Paris`, `icontains: paris`,
`grade: ...` for llm-rubric, `is-json`), `__description` the test's description,
`__threshold` the test's passing threshold and `__metadata:<name>` one metadata entry each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evals.errors import GoldenSetError
from evals.goldensets.csvfile import csv_rows, read_header, row_cells

ASSERT_TYPES = frozenset(
    {
        "equals", "contains", "icontains", "contains-any", "contains-all", "icontains-any",
        "icontains-all", "starts-with", "regex", "is-json", "contains-json", "is-sql",
        "contains-sql", "is-xml", "contains-xml", "javascript", "python", "similar", "llm-rubric",
        "model-graded-closedqa", "factuality", "answer-relevance", "context-faithfulness",
        "context-recall", "context-relevance", "levenshtein", "rouge-n", "bleu", "perplexity",
        "cost", "latency", "webhook", "classifier", "moderation", "is-refusal", "g-eval",
    }
)  # fmt: skip
_ALIASES = {"grade": "llm-rubric", "fn": "javascript", "eval": "javascript"}
_SHORT_FORM = re.compile(
    r"(not-)?([a-z][a-z0-9-]*)(?:\((\d+(?:\.\d+)?)\))?(?::\s?(.*))?", re.DOTALL
)


def assertion_from_text(text: str) -> dict[str, Any]:
    """Read promptfoo's short assertion form, e.g. `contains: Paris` or `similar(0.8): hi`.

    Text that does not start with a known assertion type is an `equals` assertion.
    """
    match = _SHORT_FORM.fullmatch(text.strip())
    if match is not None:
        negate, name, threshold, value = match.groups()
        name = _ALIASES.get(name, name)
        if name in ASSERT_TYPES and (value is not None or name.startswith("is-")):
            found: dict[str, Any] = {"type": f"{negate or ''}{name}"}
            if value is not None:
                found["value"] = value
            if threshold is not None:
                found["threshold"] = float(threshold)
            return found
    return {"type": "equals", "value": text}


def read_csv_tests(text: str, *, file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield `(line, test mapping)` for each row of a promptfoo CSV tests file.

    Raises:
        GoldenSetError: On malformed CSV or an unsupported `__` column.
    """
    rows = csv_rows(text, file=file)
    first = next(rows, None)
    if first is None:
        return
    header_line, header = first
    columns = read_header(header, file=file, line=header_line, known=None, lower=False)
    for name in columns:
        if (
            name.startswith("__")
            and name not in ("__description", "__threshold")
            and not re.fullmatch(r"__expected\d*", name)
            and not (name.startswith("__metadata:") and len(name) > len("__metadata:"))
        ):
            raise GoldenSetError(
                "unsupported special column (supported: __expected, __expectedN, __description, "
                "__threshold, __metadata:<name>)",
                file=file,
                line=header_line,
                field=name,
            )
    for line, row in rows:
        cells = row_cells(columns, row, file=file, line=line)
        test: dict[str, Any] = {"vars": {k: v for k, v in cells.items() if not k.startswith("__")}}
        if cells.get("__description", "").strip():
            test["description"] = cells["__description"].strip()
        asserts = [
            assertion_from_text(value)
            for name, value in cells.items()
            if name.startswith("__expected") and value.strip()
        ]
        if asserts:
            test["assert"] = asserts
        if cells.get("__threshold", "").strip():
            try:
                test["threshold"] = float(cells["__threshold"])
            except ValueError:
                raise GoldenSetError(
                    f"must be a number, got {cells['__threshold']!r}", file=file, line=line, field="__threshold"
                ) from None
        metadata = {name.removeprefix("__metadata:"): value for name, value in cells.items()
                    if name.startswith("__metadata:") and value.strip()}
        if metadata:
            test["metadata"] = metadata
        yield line, test
