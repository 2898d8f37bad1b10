"""YAML parsing that remembers lines, so errors can point at the case and the field.

Mappings become :class:`LineDict` and sequences :class:`LineList`: plain dicts and lists that
also carry the line of each key or item, and the source text of scalars that YAML resolved to
something other than a string (`expected: 1.50` was written "1.50", not 1.5).
Timestamps stay text, so parsed data is always plain JSON data.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from evals.errors import ConfigError
from evals.nesting import LONE_SURROGATE, TOO_DEEP, join_surrogates, too_deep

Loc = tuple[str | int, ...]
"""A path into parsed data: mapping keys and list indexes, e.g. `("assert", 0, "type")`."""


class LineDict(dict[Any, Any]):
    """A YAML mapping with the line of the mapping and of each key."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.raw: dict[Any, str] = {}


class LineList(list[Any]):
    """A YAML sequence with the line of the sequence and of each item."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []
        self.raw: dict[int, str] = {}


def _raw_text(node: yaml.Node, value: Any) -> str | None:
    if isinstance(node, yaml.ScalarNode) and value is not None and not isinstance(value, str):
        return str(node.value)
    return None


class _LineLoader(yaml.SafeLoader):
    """A safe loader that builds LineDict and LineList values."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    own = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)
    merged = len(node.value) - own  # keys from `<<: *anchor` come first and may be overridden
    result = LineDict(node.start_mark.line + 1)
    for position, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            )
        if key in result and position >= merged and result.key_lines[key] != 0:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        value = loader.construct_object(value_node, deep=True)
        result[key] = value
        # Merged keys get line 0 so that the mapping's own key may override them.
        result.key_lines[key] = key_node.start_mark.line + 1 if position >= merged else 0
        raw = _raw_text(value_node, value)
        if raw is not None:
            result.raw[key] = raw
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(node.start_mark.line + 1)
    for item_node in node.value:
        value = loader.construct_object(item_node, deep=True)
        raw = _raw_text(item_node, value)
        if raw is not None:
            result.raw[len(result)] = raw
        result.append(value)
        result.item_lines.append(item_node.start_mark.line + 1)
    return result


def _construct_str(loader: _LineLoader, node: yaml.ScalarNode) -> str:
    # YAML's "\\u" escapes are code points, so JSON-style surrogate pairs arrive split: join them.
    text = join_surrogates(loader.construct_scalar(node))
    if text is None:
        raise yaml.constructor.ConstructorError(None, None, LONE_SURROGATE, node.start_mark)
    return text


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_LineLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)


class _Yaml12Loader(_LineLoader):
    """YAML 1.2 core-schema scalars, as js-yaml (and so promptfoo) reads them.

    Only `true`/`false` are booleans (`yes`, `no`, `on`, `off` stay text), integers are decimal,
    `0o` octal or `0x` hex (`010` is ten), and there are no sexagesimal numbers.
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}


_YAML12_RESOLVERS = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", "<"),
]
for _tag, _pattern, _first in _YAML12_RESOLVERS:
    _Yaml12Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _construct_int12(loader: _LineLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith(("0o", "0x")):
        return int(text, 0)
    return int(text, 10)


def _construct_bool12(loader: _LineLoader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"


_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int12)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool12)


def parse_yaml(
    text: str, *, file: str | Path, error: type[ConfigError] = ConfigError, version: str = "1.1"
) -> Any:
    """Parse one YAML document into line-carrying values.

    Args:
        text: The document.
        file: For messages.
        error: The error type to raise.
        version: `"1.1"` (PyYAML's rules, used for turnout.yaml) or `"1.2"` (the core schema of
            js-yaml, used for promptfoo files: `yes`/`no` stay text).

    Raises:
        ConfigError: (or the subclass *error*) on invalid YAML, with the line YAML reports.
    """
    try:
        loader = _Yaml12Loader if version == "1.2" else _LineLoader
        data = yaml.load(text, Loader=loader)  # SafeLoader subclasses: no arbitrary objects
    except RecursionError:
        raise error(TOO_DEEP, file=file) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "cannot be parsed"
        raise error(f"invalid YAML: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {exc}", file=file) from None
    if too_deep(data):
        raise error(TOO_DEEP, file=file)
    return data


def line_of(data: Any, path: Loc) -> int | None:
    """The line of the deepest part of *path* that exists in *data*."""
    line: int | None = getattr(data, "line", None)
    current = data
    for part in path:
        if isinstance(current, LineDict) and part in current:
            line = current.key_lines[part] or line
            current = current[part]
        elif isinstance(current, LineList) and isinstance(part, int) and 0 <= part < len(current):
            line = current.item_lines[part]
            current = current[part]
        else:
            break
    return line


def to_plain(value: Any) -> Any:
    """Copy line-carrying values into plain dicts and lists."""
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    return value


def as_written(mapping: LineDict, key: Any) -> Any:
    """The value at *key*, as the text written in the file when YAML made it a non-string."""
    return mapping.raw.get(key, mapping.get(key))


def plain_case_data(item: LineDict, text_fields: tuple[str, ...]) -> dict[str, Any]:
    """A case mapping as plain data, with text fields and tags kept as written.

    `expected: 4` means the text "4"; `tags: [2024]` means the tag "2024".
    """
    data: dict[str, Any] = to_plain(item)
    for key in text_fields:
        if key in item.raw:
            data[key] = item.raw[key]
    tags = item.get("tags")
    if isinstance(tags, LineList):
        data["tags"] = [tags.raw.get(index, tag) for index, tag in enumerate(tags)]
    return data
