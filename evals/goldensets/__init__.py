"""Golden-set readers: JSONL, YAML and CSV files, OpenAI-evals and promptfoo importers.

Every reader returns all the cases of a file or raises a :class:`GoldenSetError` naming the
file, line and field; nothing is returned partially.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, get_args

from evals.cases import Case
from evals.errors import GoldenSetError
from evals.goldensets.common import TURNOUT_HINT
from evals.goldensets.csvfile import read_csv
from evals.goldensets.inline import parse_inline_cases
from evals.goldensets.jsonl import read_jsonl
from evals.goldensets.openai_evals import read_openai_evals
from evals.goldensets.promptfoo import read_promptfoo
from evals.goldensets.yamlfile import read_yaml

__all__ = ["FORMATS", "Format", "load_cases", "parse_inline_cases"]

Format = Literal["jsonl", "yaml", "csv", "openai-evals", "promptfoo"]
"""A golden-set file format; `openai-evals` and `promptfoo` are importers of those tools' files."""

FORMATS: tuple[Format, ...] = get_args(Format)

_READERS: dict[Format, Callable[[Path], tuple[Case, ...]]] = {
    "jsonl": read_jsonl,
    "yaml": read_yaml,
    "csv": read_csv,
    "openai-evals": read_openai_evals,
    "promptfoo": read_promptfoo,
}

_BY_SUFFIX: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".csv": "csv",
}


def load_cases(path: Path, *, format: Format | None = None) -> tuple[Case, ...]:
    """Read a golden-set file.

    Args:
        path: The file.
        format: The format; when None it follows the extension (`.jsonl`/`.ndjson`,
            `.yaml`/`.yml`, `.csv`). OpenAI-evals and promptfoo files must be named explicitly,
            since their extensions say nothing.

    Returns:
        The cases, in file order.

    Raises:
        GoldenSetError: When the file is missing, its format unknown, or its content bad.
    """
    path = Path(path)
    if not path.exists():
        raise GoldenSetError(f"golden-set file not found: {path}{TURNOUT_HINT}", file=path)
    if format is None:
        inferred = _BY_SUFFIX.get(path.suffix.lower())
        if inferred is None:
            raise GoldenSetError(
                f"cannot tell the format of {path.name!r} from its extension; set `format:` to "
                f"one of {', '.join(FORMATS)}",
                file=path,
                field="format",
            )
        format = inferred
    reader = _READERS.get(format)
    if reader is None:
        raise GoldenSetError(
            f"unknown format {format!r}; use one of {', '.join(FORMATS)}", file=path, field="format"
        )
    return reader(path)
