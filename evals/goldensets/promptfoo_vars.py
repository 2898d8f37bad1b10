"""promptfoo vars: `file://` values read (and parsed), arrays and globs expanded into tests.

As promptfoo does: a var whose value is a list makes one test per element, and a `file://`
glob one test per matched file (several such vars: every combination). A `.yaml`/`.yml`/`.json`
var file is parsed (YAML 1.2, as promptfoo's js-yaml reads it); any other file is its text.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.errors import GoldenSetError
from evals.goldensets.common import slug_text
from evals.goldensets.promptfoo_files import CODE_SUFFIXES, file_ref, parse_data, read_ref
from evals.yamllines import to_plain

_GLOB = "*?["
_PARSED_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Choice:
    """One value a var takes in one expanded test, and the id suffix naming it."""

    value: Any
    suffix: str


def _read_var_file(path: Path, *, ref: str, name: str, config: Path, file: str, line: int | None) -> Any:
    if path.suffix.lower() in CODE_SUFFIXES:
        raise GoldenSetError(
            f"var files that are code ({ref}) are not supported; use a text, YAML or JSON file",
            file=file, line=line, field=f"vars.{name}",
        )  # fmt: skip
    text = read_ref(path, what=f"file of var {name!r}", config=config)
    if path.suffix.lower() in _PARSED_SUFFIXES:
        return to_plain(parse_data(text, file=path))
    return text


def var_choices(
    variables: dict[str, Any], *, file: str, line: int | None, base: Path, config: Path
) -> dict[str, list[Choice]]:
    """Each var's values: one for a plain var, several for an array or a glob.

    Raises:
        GoldenSetError: When a `file://` var names no file, or a code file.
    """
    choices: dict[str, list[Choice]] = {}
    for name, value in variables.items():
        if isinstance(value, str) and value.startswith("file://"):
            paths = file_ref(value, base)
            if not paths or not all(path.is_file() for path in paths):
                raise GoldenSetError(
                    f"var files must be files that exist; nothing matches {value!r} "
                    f"(`file://` paths are relative to {config.name})",
                    file=file, line=line, field=f"vars.{name}",
                )  # fmt: skip
            read = [_read_var_file(p, ref=value, name=name, config=config, file=file, line=line) for p in paths]
            if any(char in value for char in _GLOB):
                choices[name] = [Choice(text, slug_text(p.stem) or str(k)) for k, (p, text)
                                 in enumerate(zip(paths, read, strict=True), start=1)]
            else:
                choices[name] = [Choice(read[0], "")]
        elif isinstance(value, list):
            if not value:
                raise GoldenSetError(
                    "an array var makes one test per value; this one is empty",
                    file=file, line=line, field=f"vars.{name}",
                )  # fmt: skip
            choices[name] = [Choice(item, str(k)) for k, item in enumerate(value, start=1)]
        else:
            choices[name] = [Choice(value, "")]
    return choices


def expand(choices: dict[str, list[Choice]]) -> list[tuple[dict[str, Any], str]]:
    """Every combination of the vars' values, with its id suffix (empty when there is one)."""
    names = list(choices)
    combos: list[tuple[dict[str, Any], str]] = []
    for picked in itertools.product(*(choices[name] for name in names)):
        suffix = "-".join(choice.suffix for choice in picked if choice.suffix)
        combos.append(({name: choice.value for name, choice in zip(names, picked, strict=True)}, suffix))
    return combos
