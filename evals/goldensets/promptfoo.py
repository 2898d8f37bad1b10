"""Importer for promptfoo configs (promptfooconfig.yaml): every prompt x test pair is a case.

The case input is the prompt rendered with the test's vars; its asserts are the
`defaultTest` asserts followed by the test's own (promptfoo's order), with types kept as
promptfoo spells them. `expected` is the value of the test's first equals / contains /
icontains assert (then defaultTest's), else the `expected` var. Ids are the slug of the
test's description, else `test-<n>`, with `-p<k>` added when there are several prompts.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from evals.cases import Assertion, Case
from evals.errors import GoldenSetError
from evals.goldensets.common import Located, finish, kind_of, read_text, validate
from evals.goldensets.promptfoo_files import (
    CODE_SUFFIXES,
    Prompt,
    TestEntry,
    file_ref,
    load_prompts,
    load_tests,
    parse_data,
    read_ref,
)
from evals.goldensets.template import TemplateError
from evals.yamllines import LineDict, LineList, line_of, parse_yaml, to_plain

_EXPECTED_TYPES = ("equals", "contains", "icontains")
_ASSERT_FIELDS = ("type", "value", "weight")


@dataclass(frozen=True)
class _Part:
    """What a test (or `defaultTest`) contributes to its cases."""

    vars: dict[str, Any] = field(default_factory=dict)
    asserts: list[tuple[Assertion, dict[str, Any]]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    threshold: Any = None


def _mapping(data: dict[str, Any], key: str, *, file: str, line: int | None) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        where = data.key_lines.get(key, line) if isinstance(data, LineDict) else line
        raise GoldenSetError(
            f"must be a mapping, got {kind_of(value)}", file=file, line=where, field=key
        )
    return dict(to_plain(value))


def _asserts(
    data: dict[str, Any], *, file: str, line: int | None
) -> list[tuple[Assertion, dict[str, Any]]]:
    raw = data.get("assert")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise GoldenSetError(
            "must be a list of {type, value} mappings", file=file, line=line, field="assert"
        )
    found: list[tuple[Assertion, dict[str, Any]]] = []
    for index, entry in enumerate(raw):
        entry_line = raw.item_lines[index] if isinstance(raw, LineList) else line
        locate = partial(line_of, entry) if isinstance(entry, LineDict) else None
        plain = to_plain(entry)
        if isinstance(plain, dict) and plain.get("type") == "assert-set" and "assert" in plain:
            plain = {**plain, "value": plain.pop("assert")}  # the nested asserts are its value
        core = (
            {k: v for k, v in plain.items() if k in _ASSERT_FIELDS}
            if isinstance(plain, dict)
            else plain
        )
        assertion = validate(
            Assertion,
            core,
            file=file,
            line=entry_line,
            field_prefix=f"assert[{index}]",
            locate=locate,
        )
        options = {k: v for k, v in plain.items() if k not in _ASSERT_FIELDS}
        found.append((assertion, options))
    return found


def _part(data: dict[str, Any], *, file: str, line: int | None, base: Path, config: Path) -> _Part:
    variables = _mapping(data, "vars", file=file, line=line)
    for name, value in variables.items():
        if isinstance(value, str) and value.startswith("file://"):
            # promptfoo loads such vars from the file, relative to the config.
            paths = file_ref(value, base)
            if not paths or paths[0].suffix.lower() in CODE_SUFFIXES:
                raise GoldenSetError(
                    f"var files must be text files that exist; cannot read {value!r}",
                    file=file,
                    line=line,
                    field=f"vars.{name}",
                )
            variables[name] = read_ref(paths[0], what=f"file of var {name!r}", config=config)
    return _Part(
        vars=variables,
        asserts=_asserts(data, file=file, line=line),
        options=_mapping(data, "options", file=file, line=line),
        metadata=_mapping(data, "metadata", file=file, line=line),
        threshold=data.get("threshold"),
    )


def _default_part(config: LineDict, path: Path) -> _Part:
    raw = config.get("defaultTest")
    if raw is None:
        return _Part()
    file, line = str(path), config.key_lines["defaultTest"]
    if isinstance(raw, str):
        ref = file_ref(raw, path.parent)
        raw = (
            parse_data(read_ref(ref[0], what="defaultTest file", config=path), file=ref[0])
            if ref
            else None
        )
        file, line = str(ref[0]) if ref else file, 1
    if not isinstance(raw, dict):
        raise GoldenSetError(
            f"must be a mapping, got {kind_of(raw)}", file=file, line=line, field="defaultTest"
        )
    return _part(raw, file=file, line=line, base=path.parent, config=path)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def slug(text: str) -> str:
    """A case id from a test description: `Réponse en français` -> `reponse-en-francais`.

    Empty when the description has no Latin letters or digits.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].rstrip("-")


def _cases(
    test: TestEntry, number: int, prompts: list[Prompt], default: _Part, config: Path
) -> list[Located]:
    data, file, line = test.data, test.file, test.line
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise GoldenSetError(
            f"must be text, got {kind_of(description)}", file=file, line=line, field="description"
        )
    own = _part(data, file=file, line=line, base=config.parent, config=config)
    variables = {**default.vars, **own.vars}
    options = {**default.options, **own.options}
    metadata = {**default.metadata, **own.metadata}
    asserts = default.asserts + own.asserts
    tags = metadata.pop("tags", None) or variables.get("tags")
    if isinstance(tags, list):
        tags = [_text(tag) for tag in tags]
    expected = next(
        (a.value for a, _ in own.asserts + default.asserts if a.type in _EXPECTED_TYPES),
        variables.get("expected"),
    )
    criteria = next(
        (a.value for a, _ in asserts if a.type == "llm-rubric" and isinstance(a.value, str)), None
    )
    name = (slug(description) if description else "") or f"test-{number}"
    metadata["vars"] = variables
    if description:
        metadata["description"] = description
    if any(options for _, options in asserts):
        metadata["assert_options"] = [options for _, options in asserts]
    threshold = own.threshold if own.threshold is not None else default.threshold
    if threshold is not None:
        metadata["threshold"] = threshold
    found: list[Located] = []
    for k, prompt in enumerate(prompts, start=1):
        try:
            rendered = prompt.render(
                variables,
                prefix=str(options.get("prefix", "")),
                suffix=str(options.get("suffix", "")),
            )
        except TemplateError as exc:
            label = f" ({prompt.label})" if prompt.label else ""
            raise GoldenSetError(
                f"test {description or name!r} with prompt {k}{label}: {exc}",
                file=file,
                line=line_of(data, ("vars",)) if isinstance(data, LineDict) else line,
                field=f"vars.{exc.variable}" if exc.variable else "vars",
            ) from None
        case_data = {
            "id": f"{name}-p{k}" if len(prompts) > 1 else name,
            "input": rendered,
            "expected": _text(expected),
            "criteria": criteria,
            "assert": [assertion for assertion, _ in asserts],
            "tags": tags or (),
            "metadata": {**metadata, **({"prompt": prompt.label} if prompt.label else {})},
        }
        found.append(Located(validate(Case, case_data, file=file, line=line), file, line))
    return found


def read_promptfoo(path: Path) -> tuple[Case, ...]:
    """Read a promptfoo config into cases, one per prompt x test.

    Args:
        path: The promptfoo config (e.g. `promptfooconfig.yaml`); `file://` references in it are
            relative to its folder.

    Returns:
        The cases: for each test in order, one case per prompt in order.

    Raises:
        GoldenSetError: Naming the file, line and field of the first problem, e.g. a var that a
            prompt uses but a test does not set.
    """
    config = parse_yaml(read_text(path, what="promptfoo config"), file=path, error=GoldenSetError)
    if not isinstance(config, LineDict):
        raise GoldenSetError(
            "a promptfoo config is a mapping with `prompts:` and `tests:`, "
            f"found {kind_of(config)}",
            file=path,
            line=1,
        )
    prompts = load_prompts(config, path)
    default = _default_part(config, path)
    found: list[Located] = []
    for number, test in enumerate(load_tests(config, path), start=1):
        found.extend(_cases(test, number, prompts, default, path))
    if not found:
        raise GoldenSetError(
            "no cases: `tests:` is empty", file=path, line=config.line, field="tests"
        )
    return finish(found, file=path)
