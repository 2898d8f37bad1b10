"""Shared pieces of the golden-set readers: reading files, validating cases, naming fields.

Every reader turns bad input into a :class:`GoldenSetError` that names the file, the line and
the field, and returns cases only once the whole file has been read.
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from evals.cases import Case
from evals.errors import GoldenSetError, ProblemCollector
from evals.nesting import LONE_SURROGATE, TOO_DEEP, has_lone_surrogate, too_deep
from evals.yamllines import Loc

Locate = Callable[[Loc], int | None]
"""Finds the line of a path into a case's data, when the format knows it."""

M = TypeVar("M", bound=BaseModel)

TURNOUT_HINT = " (a `file:` path is relative to the turnout.yaml that names it)"
CASE_FIELDS = "id, input, context, expected, accepted, criteria, assert, tags, cluster, metadata"
TEXT_FIELDS = ("id", "input", "context", "expected", "criteria", "cluster")
"""Case fields that hold text: readers of untyped formats give them the text as written."""

_MISSING = object()


@dataclass(frozen=True)
class Located:
    """A case and where it was read, kept until the whole file is known to be good."""

    case: Case
    file: str
    line: int | None
    label: str | None = None
    """How to name the place when there is no line, e.g. `[3]` for inline cases."""

    def where(self, other_file: str) -> str:
        """The place in words, with the file name only when it differs from *other_file*."""
        place = f"line {self.line}" if self.line is not None else (self.label or "?")
        return place if self.file == other_file else f"{self.file}: {place}"


def read_text(path: Path, *, what: str = "golden-set file", hint: str = TURNOUT_HINT) -> str:
    """Read a UTF-8 file (an initial byte-order mark is dropped).

    Args:
        path: The file.
        what: What the file is, for the message when it cannot be read.
        hint: Appended to the not-found message, to say what the path is relative to.

    Returns:
        The text.

    Raises:
        GoldenSetError: When the file is missing, is a directory, or is not UTF-8.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise GoldenSetError(f"{what} not found: {path}{hint}", file=path) from None
    except IsADirectoryError:
        raise GoldenSetError(f"{what} is a directory, not a file: {path}", file=path) from None
    except OSError as exc:
        raise GoldenSetError(f"cannot read {what}: {exc.strerror}", file=path) from exc
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise GoldenSetError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
            file=path,
            line=line,
        ) from None
    refuse_lfs_pointer(path, text)
    return text


LFS_POINTER = "version https://git-lfs.github.com/spec/v1"


def refuse_lfs_pointer(path: Path, text: str) -> None:
    """Refuse a Git LFS pointer file (what a clone without `git lfs` holds) with the fix.

    Raises:
        GoldenSetError: When the file is a pointer rather than the data.
    """
    if text.lstrip().startswith(LFS_POINTER):
        raise GoldenSetError(
            "this is a Git LFS pointer, not the data: run `git lfs pull` in its repository", file=path, line=1
        )


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Each non-blank line of a JSON Lines file, parsed, with its 1-based line number."""
    text = read_text(path)
    # Only "\n" ends a record: str.splitlines() would also split inside strings at U+2028.
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, parse_json_line(line, file=path, line=number)


def parse_json_line(text: str, *, file: str | Path, line: int) -> Any:
    """Parse one JSONL line, refusing duplicate keys in an object."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise GoldenSetError(f"duplicate key {key!r}", file=file, line=line, field=key)
            result[key] = value
        return result

    def no_constants(name: str) -> Any:
        raise GoldenSetError(f"invalid JSON: {name} is not a JSON number", file=file, line=line)

    try:
        data = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except json.JSONDecodeError as exc:
        raise GoldenSetError(
            f"invalid JSON: {exc.msg} (column {exc.colno})", file=file, line=line
        ) from None
    except RecursionError:
        raise GoldenSetError(TOO_DEEP, file=file, line=line) from None
    if too_deep(data):
        deep = [key for key, value in data.items() if too_deep([value])] if isinstance(data, dict) else []
        raise GoldenSetError(TOO_DEEP, file=file, line=line, field=deep[0] if deep else None)
    if has_lone_surrogate(data):
        raise GoldenSetError(f"invalid text: {LONE_SURROGATE}", file=file, line=line)
    return data


def kind_of(value: Any) -> str:
    """Name a parsed value's type the way a YAML or JSON author would."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def field_name(path: Loc) -> str:
    """Render a path as `assert[0].type`; the field `asserts` is spelled as files spell it."""
    text = ""
    for position, part in enumerate(path):
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = "assert" if position == 0 and part == "asserts" else part
            text += f".{name}" if text else name
    return text


def _data_path(loc: Sequence[str | int], data: Any) -> Loc:
    # Pydantic puts union member names ("str", "tuple[Message, ...]") into locations; keep only
    # the parts that step into the data, so the path reads like the file.
    path: list[str | int] = []
    current: Any = data
    for part in loc:
        if isinstance(current, dict) and isinstance(part, str):
            path.append(part)
            current = current.get(part, _MISSING)
        elif isinstance(current, list | tuple) and isinstance(part, int):
            path.append(part)
            current = current[part] if 0 <= part < len(current) else _MISSING
        elif current is _MISSING:
            path.append(part)
    return tuple(path)


def _explain(error: Any, path: Loc) -> str:
    kind = error["type"]
    if path == ("input",) and kind in ("string_type", "tuple_type"):
        return "must be a prompt string or a list of {role, content} messages"
    if kind == "extra_forbidden":
        return f"unknown field (a case has: {CASE_FIELDS})" if len(path) == 1 else "unknown field"
    message = str(error["msg"])
    value = error.get("input")
    if kind != "missing" and (value is None or isinstance(value, str | int | float | bool)):
        shown = json.dumps(value, ensure_ascii=False)
        message += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return message


def validate(
    model: type[M],
    data: Any,
    *,
    file: str | Path,
    line: int | None,
    field_prefix: str = "",
    locate: Locate | None = None,
) -> M:
    """Validate *data* as *model*, turning a ValidationError into a GoldenSetError.

    The most specific error is reported (pydantic reports one error per union member).

    Args:
        model: `Case` or another value type such as `Assertion`.
        data: The parsed mapping.
        file: Where the data was read, for the message.
        line: The line of the mapping.
        field_prefix: Put before the field name, e.g. `[3]` or `tests[2]`.
        locate: Finds a more precise line for the failing field.

    Returns:
        The validated value.
    """
    what = "a case" if model is Case else f"a {model.__name__.lower()}"
    prefix = field_prefix or None
    if not isinstance(data, dict):
        raise GoldenSetError(
            f"{what} must be a mapping of fields, got {kind_of(data)}",
            file=file,
            line=line,
            field=prefix,
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        found = [(_data_path(err["loc"], data), err) for err in exc.errors()]
        path, error = max(found, key=lambda item: len(item[0]))
        name = field_name(path)
        if field_prefix:
            name = f"{field_prefix}{'' if name.startswith('[') else '.'}{name}"
        better_line = locate(path) if locate is not None else None
        raise GoldenSetError(
            _explain(error, path), file=file, line=better_line or line, field=name
        ) from exc


def finish(found: list[Located], *, file: str | Path) -> tuple[Case, ...]:
    """Check that a file gave at least one case and no id twice, then return the cases.

    Raises:
        GoldenSetError: On an empty file, or a case id used twice (naming both places).
        ConfigProblems: When several ids are used twice: each repeat.
    """
    if not found:
        raise GoldenSetError("no cases: the golden set is empty", file=file)
    collector = ProblemCollector(file=file)
    first_seen: dict[str, Located] = {}
    for item in found:
        earlier = first_seen.setdefault(item.case.id, item)
        if earlier is not item:
            collector.add(GoldenSetError(
                f"duplicate case id {item.case.id!r}: first at {earlier.where(item.file)}, "
                f"again at {item.where(item.file)}; case ids must be unique in a golden set",
                file=item.file,
                line=item.line,
                field=item.label + ".id" if item.label and item.line is None else "id",
            ))
    collector.raise_if_any()
    return tuple(item.case for item in found)


def slug_text(text: str) -> str:
    """An id from free text: `Réponse en français` -> `reponse-en-francais`.

    Empty when the text has no Latin letters or digits.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].rstrip("-")
