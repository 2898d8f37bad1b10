"""Cases written inline in turnout.yaml (`cases: [...]` under a golden set)."""

from __future__ import annotations

from typing import Any

from evals.cases import Case
from evals.errors import GoldenSetError, ProblemCollector
from evals.goldensets.common import TEXT_FIELDS, Located, finish, kind_of, validate


def _as_text(value: Any) -> Any:
    # `expected: 4` in YAML is the number 4; a case's text fields hold text.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def parse_inline_cases(items: list[Any], *, source: str) -> tuple[Case, ...]:
    """Validate cases given inline, as parsed from YAML or JSON.

    Args:
        items: The case mappings, in the shape of the JSONL format.
        source: Where they were written, for messages, e.g.
            `turnout.yaml: golden_sets[0].cases`.

    Returns:
        The cases, in order.

    Raises:
        GoldenSetError: With `source` as the file and `[index].field` as the field.
        ConfigProblems: When several cases are bad: each one, with its field.
    """
    if not isinstance(items, list):
        raise GoldenSetError(f"must be a list of cases, got {kind_of(items)}", file=source)
    collector = ProblemCollector(file=source)
    found: list[Located] = []
    for index, item in enumerate(items):
        data = item
        if isinstance(item, dict):
            data = {k: _as_text(v) if k in TEXT_FIELDS else v for k, v in item.items()}
            if isinstance(data.get("tags"), list):
                data["tags"] = [_as_text(tag) for tag in data["tags"]]
        with collector.catching():
            case = validate(Case, data, file=source, line=None, field_prefix=f"[{index}]")
            found.append(Located(case, source, None, label=f"[{index}]"))
    collector.raise_if_any()
    return finish(found, file=source)
