"""The prompts and tests of a promptfoo config, inline or behind `file://` references.

Supported: inline prompt strings (text, or a JSON list of chat messages), `{raw|id, label}`
prompt entries, `file://` prompt files (text split at `---` lines, `.json`/`.yaml` chat
messages), and tests inline or in `file://` YAML/JSON lists or promptfoo CSV files (with glob
patterns). Paths are relative to the config file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.errors import GoldenSetError
from evals.goldensets.common import kind_of, read_text
from evals.goldensets.confine import check_inside
from evals.goldensets.promptfoo_csv import read_csv_tests
from evals.goldensets.template import TemplateError, check_template, render
from evals.nesting import TOO_DEEP, too_deep
from evals.yamllines import LineDict, LineList, parse_yaml, to_plain

CODE_SUFFIXES = (".py", ".js", ".mjs", ".cjs", ".ts")
PROMPT_SUFFIXES = (".txt", ".json", ".yaml", ".yml", ".md", ".j2")
"""A bare prompt ending in one of these is a prompt file, as in promptfoo."""
_TESTS_SUFFIXES = (".yaml", ".yml", ".json", ".csv")
_SEPARATOR = re.compile(r"^-{3,}[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Prompt:
    """One prompt template: text, or chat messages whose contents are templates."""

    text: str | None
    messages: tuple[tuple[str, str], ...] | None
    label: str | None
    file: str
    line: int | None

    def render(self, variables: dict[str, Any], *, prefix: str = "", suffix: str = "") -> Any:
        """The case input for *variables*: a string, or a list of message mappings."""
        if self.messages is not None:
            return [
                {"role": role, "content": render(content, variables)}
                for role, content in self.messages
            ]
        return prefix + render(self.text or "", variables) + suffix


@dataclass(frozen=True)
class TestEntry:
    """One promptfoo test mapping and where it was written."""

    data: dict[str, Any]
    file: str
    line: int | None


def file_ref(ref: str, base: Path) -> list[Path]:
    """The files a `file://` reference (or a plain path, glob patterns allowed) names.

    Raises:
        GoldenSetError: one of them lies outside the bundle the config came in (`evals.goldensets.confine`).
    """
    text = ref.removeprefix("file://").strip()
    path = Path(text)
    if not any(char in text for char in "*?["):
        found = [path if path.is_absolute() else base / path]
    else:
        anchor = Path(path.anchor) if path.is_absolute() else base
        found = sorted(anchor.glob(str(path.relative_to(anchor) if path.is_absolute() else path)))
    return [check_inside(item, ref=ref, file=base) for item in found]


def parse_data(text: str, *, file: Path) -> Any:
    """Parse a referenced `.json` file as JSON (tabs allowed), anything else as YAML."""
    if file.suffix.lower() != ".json":
        return parse_yaml(text, file=file, error=GoldenSetError, version="1.2")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GoldenSetError(f"invalid JSON: {exc.msg}", file=file, line=exc.lineno) from None
    except RecursionError:
        raise GoldenSetError(TOO_DEEP, file=file) from None
    if too_deep(data):
        raise GoldenSetError(TOO_DEEP, file=file)
    return data


def read_ref(path: Path, *, what: str, config: Path) -> str:
    """Read a file that a promptfoo config refers to."""
    return read_text(path, what=what, hint=f" (`file://` paths are relative to {config.name})")


def _content_text(content: Any) -> str | None:
    # OpenAI-style content blocks: text blocks are joined; any other block cannot be a case input.
    if isinstance(content, str):
        return content
    if isinstance(content, list) and content and all(isinstance(block, dict) for block in content):
        kinds = {block.get("type") for block in content}
        if kinds != {"text"}:
            other = sorted(str(kind) for kind in kinds - {"text"})
            raise GoldenSetError(f"chat content blocks of type {', '.join(other)} are not supported; only text")
        if all(isinstance(block.get("text"), str) for block in content):
            return "\n".join(block["text"] for block in content)
    return None


def _chat(value: Any) -> tuple[tuple[str, str], ...] | None:
    if not (isinstance(value, list) and value):
        return None
    messages: list[tuple[str, str]] = []
    for m in value:
        if not (isinstance(m, dict) and isinstance(m.get("role"), str)):
            return None
        text = _content_text(m.get("content"))
        if text is None:
            return None
        messages.append((m["role"], text))
    return tuple(messages)


def _prompt(
    text: str,
    *,
    label: str | None,
    file: str,
    line: int | None,
    field: str,
    messages: tuple[tuple[str, str], ...] | None = None,
) -> Prompt:
    # Like promptfoo, a prompt whose text is a JSON list of messages is a chat prompt.
    if messages is None and text.lstrip().startswith("["):
        try:
            messages = _chat(json.loads(text))
        except (json.JSONDecodeError, RecursionError):
            messages = None
        except GoldenSetError as exc:
            raise GoldenSetError(exc.reason, file=file, line=line, field=field) from None
    try:
        for template in [content for _, content in messages] if messages else [text]:
            check_template(template)
    except TemplateError as exc:
        raise GoldenSetError(str(exc), file=file, line=line, field=field) from None
    return Prompt(None if messages else text, messages, label, file, line)


def _split_prompts(text: str) -> list[tuple[int, str]]:
    # promptfoo reads several prompts from one text file, separated by `---` lines.
    separators = list(_SEPARATOR.finditer(text))
    starts = [0] + [match.end() for match in separators]
    ends = [match.start() for match in separators] + [len(text)]
    parts: list[tuple[int, str]] = []
    for start, end in zip(starts, ends, strict=True):
        piece = text[start:end]
        if piece.strip():
            first = start + len(piece) - len(piece.lstrip())
            parts.append((text.count("\n", 0, first) + 1, piece.strip()))
    return parts


def _prompts_from_file(ref: str, *, label: str | None, config: Path, field: str) -> list[Prompt]:
    paths = file_ref(ref, config.parent)
    if not paths:
        raise GoldenSetError(f"no file matches {ref!r}", file=config, field=field)
    prompts: list[Prompt] = []
    for path in paths:
        if path.suffix.lower() in CODE_SUFFIXES or re.search(r"\.\w+:\w+$", ref):
            raise GoldenSetError(
                f"prompt functions ({ref}) are not supported; use text or chat-message files",
                file=config,
                field=field,
            )
        text = read_ref(path, what="prompt file", config=config)
        name = label or ref
        if path.suffix.lower() in (".yaml", ".yml", ".json"):
            value = parse_data(text, file=path)
            try:
                messages = _chat(to_plain(value))
            except GoldenSetError as exc:
                raise GoldenSetError(exc.reason, file=path, line=1, field=field) from None
            if messages is None and not isinstance(value, str):
                raise GoldenSetError(
                    "a prompt file holds text or a list of {role, content} messages, "
                    f"got {kind_of(value)}",
                    file=path,
                    line=1,
                )
            prompts.append(
                _prompt(
                    str(value), label=name, file=str(path), line=1, field=field, messages=messages
                )
            )
            continue
        parts = _split_prompts(text)
        for number, (part_line, part) in enumerate(parts, start=1):
            part_label = name if len(parts) == 1 else f"{name}#{number}"
            prompts.append(
                _prompt(part, label=part_label, file=str(path), line=part_line, field=field)
            )
    return prompts


def _looks_like_path(entry: str) -> bool:
    # promptfoo reads `prompts: [prompts.txt]` as a file, not as the text "prompts.txt".
    return "\n" not in entry and "{{" not in entry and Path(entry.strip()).suffix.lower() in PROMPT_SUFFIXES


def load_prompts(config: LineDict, path: Path) -> list[Prompt]:
    """The prompts of a promptfoo config, in order.

    A prompt is text, `file://` a prompts file, a bare path ending in one of
    :data:`PROMPT_SUFFIXES`, a `{raw|id, label}` mapping; `prompts:` may also be `{path: label}`.
    """
    raw = config.get("prompts")
    if raw is None:
        raise GoldenSetError(
            "a promptfoo config needs `prompts:`", file=path, line=config.line, field="prompts"
        )
    entries = LineList(config.key_lines["prompts"])
    if isinstance(raw, str):
        entries.append(raw)
        entries.item_lines.append(entries.line)
    elif isinstance(raw, LineList):
        entries = raw
    elif isinstance(raw, LineDict):
        # promptfoo's `{path: label}` form.
        for ref, given in raw.items():
            entries.append({"raw": ref, "label": given} if isinstance(given, str) else ref)
            entries.item_lines.append(raw.key_lines[ref])
    else:
        raise GoldenSetError(
            f"must be a list of prompts, got {kind_of(raw)}",
            file=path,
            line=entries.line,
            field="prompts",
        )
    prompts: list[Prompt] = []
    for index, entry in enumerate(entries):
        field, line = f"prompts[{index}]", entries.item_lines[index]
        label: str | None = None
        if isinstance(entry, dict):
            label = entry.get("label")
            entry = entry.get("raw", entry.get("id"))
        if not isinstance(entry, str) or not entry.strip():
            raise GoldenSetError(
                "a prompt is a string, `file://...`, or a mapping with `raw` or `id`",
                file=path,
                line=line,
                field=field,
            )
        if entry.startswith("file://") or _looks_like_path(entry):
            prompts.extend(_prompts_from_file(entry, label=label, config=path, field=field))
        else:
            prompts.append(_prompt(entry, label=label, file=str(path), line=line, field=field))
    if not prompts:
        raise GoldenSetError("`prompts:` is empty", file=path, line=entries.line, field="prompts")
    return prompts


def _tests_from_file(ref: str, *, config: Path, line: int | None, field: str) -> list[TestEntry]:
    if not ref.startswith("file://") and Path(ref).suffix.lower() not in _TESTS_SUFFIXES:
        raise GoldenSetError(
            "a test must be a mapping, or `file://` naming a .yaml, .json or .csv tests file",
            file=config,
            line=line,
            field=field,
        )
    paths = file_ref(ref, config.parent)
    if not paths:
        raise GoldenSetError(f"no file matches {ref!r}", file=config, line=line, field=field)
    tests: list[TestEntry] = []
    for path in paths:
        text = read_ref(path, what="tests file", config=config)
        if path.suffix.lower() == ".csv":
            tests.extend(
                TestEntry(data, str(path), row) for row, data in read_csv_tests(text, file=path)
            )
            continue
        if path.suffix.lower() not in _TESTS_SUFFIXES:
            raise GoldenSetError(
                "tests files must be .yaml, .yml, .json or .csv",
                file=config,
                line=line,
                field=field,
            )
        value = parse_data(text, file=path)
        items = [value] if isinstance(value, dict) else value
        if not isinstance(items, list):
            raise GoldenSetError(
                f"a tests file holds a list of tests, got {kind_of(value)}", file=path, line=1
            )
        for index, item in enumerate(items):
            item_line = (
                items.item_lines[index] if isinstance(items, LineList) else getattr(item, "line", 1)
            )
            tests.append(_entry(item, file=path, line=item_line, field=f"[{index}]"))
    return tests


def _entry(item: Any, *, file: Path, line: int | None, field: str) -> TestEntry:
    if not isinstance(item, dict):
        raise GoldenSetError(
            f"a test must be a mapping, got {kind_of(item)}", file=file, line=line, field=field
        )
    return TestEntry(item, str(file), line)


def load_tests(config: LineDict, path: Path) -> list[TestEntry]:
    """The tests of a promptfoo config, with the file and line of each."""
    raw = config.get("tests")
    line = config.key_lines.get("tests", config.line)
    if raw is None:
        raise GoldenSetError(
            "a promptfoo config needs `tests:`", file=path, line=config.line, field="tests"
        )
    if isinstance(raw, str):
        return _tests_from_file(raw, config=path, line=line, field="tests")
    if not isinstance(raw, LineList):
        raise GoldenSetError(
            f"must be a list of tests or a file, got {kind_of(raw)}",
            file=path,
            line=line,
            field="tests",
        )
    tests: list[TestEntry] = []
    for index, item in enumerate(raw):
        field, item_line = f"tests[{index}]", raw.item_lines[index]
        if isinstance(item, str):
            tests.extend(_tests_from_file(item, config=path, line=item_line, field=field))
        else:
            tests.append(_entry(item, file=path, line=item_line, field=field))
    return tests
