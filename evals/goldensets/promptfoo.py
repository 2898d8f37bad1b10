"""Importer for promptfoo configs (promptfooconfig.yaml): every prompt x test pair is a case.

The config and its YAML files are read as YAML 1.2 (as promptfoo's js-yaml does: `yes` stays
text). The case input is the prompt rendered with the test's vars (Nunjucks, through Jinja2);
array vars and `file://` glob vars make one test per value. Asserts are the `defaultTest`
asserts followed by the test's own (promptfoo's order), rendered with the vars and mapped as
:mod:`evals.goldensets.promptfoo_asserts` says. `expected` is the value of the test's first
equals / contains / icontains assert (then defaultTest's), else the `expected` var. Ids are
the slug of the test's description, else `test-<n>`, with the expanded values' suffix and
`-p<k>` added when there are several prompts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from evals.cases import Case
from evals.errors import GoldenSetError
from evals.goldensets.common import Located, finish, kind_of, read_text, slug_text, validate
from evals.goldensets.promptfoo_asserts import (
    JAVASCRIPT_OPTIONS,
    RawAssert,
    map_asserts,
    read_asserts,
    refuse_javascript,
)
from evals.goldensets.promptfoo_files import Prompt, TestEntry, file_ref, load_prompts, load_tests, parse_data, read_ref
from evals.goldensets.promptfoo_vars import expand, var_choices
from evals.goldensets.template import TemplateError, render
from evals.yamllines import LineDict, line_of, parse_yaml, to_plain

_EXPECTED_TYPES = ("equals", "contains", "icontains")
_REFUSED_TOP_LEVEL = {
    "nunjucksFilters": "custom Nunjucks filters are JavaScript, which Turnout does not run",
    "derivedMetrics": "derived metrics are computed by promptfoo's JavaScript",
    "scenarios": "scenarios are not imported; write their combinations as tests",
}
_REFUSED_TEST_KEYS = {
    "prompts": "a test limited to some prompts is not imported; split the config per prompt",
    "providers": "a test limited to some providers is not imported; Turnout's watch chooses the models",
}


@dataclass(frozen=True)
class _Part:
    """What a test (or `defaultTest`) contributes to its cases."""

    vars: dict[str, Any] = field(default_factory=dict)
    asserts: list[RawAssert] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    threshold: Any = None


def _mapping(data: dict[str, Any], key: str, *, file: str, line: int | None) -> dict[str, Any]:
    value = data.get(key)
    if value is None:  # absent, or a key left empty (`options:` with its lines commented out)
        return {}
    if not isinstance(value, dict):
        where = data.key_lines.get(key, line) if isinstance(data, LineDict) else line
        raise GoldenSetError(f"must be a mapping, got {kind_of(value)}", file=file, line=where, field=key)
    return dict(to_plain(value))


def _part(data: dict[str, Any], *, file: str, line: int | None, templates: dict[str, Any]) -> _Part:
    options = _mapping(data, "options", file=file, line=line)
    where = next((line_of(data, ("options", key)) for key in JAVASCRIPT_OPTIONS if key in options), None)
    refuse_javascript(options, file=file, line=where or line_of(data, ("options",)) or line, field_prefix="options.")
    return _Part(
        vars=_mapping(data, "vars", file=file, line=line),
        asserts=read_asserts(data, file=file, line=line, templates=templates),
        options=options,
        metadata=_mapping(data, "metadata", file=file, line=line),
        threshold=data.get("threshold"),
    )


def _default_part(config: LineDict, path: Path, templates: dict[str, Any]) -> _Part:
    raw = config.get("defaultTest")
    if raw is None:
        return _Part()
    file, line = str(path), config.key_lines["defaultTest"]
    if isinstance(raw, str):
        ref = file_ref(raw, path.parent)
        raw = parse_data(read_ref(ref[0], what="defaultTest file", config=path), file=ref[0]) if ref else None
        file, line = str(ref[0]) if ref else file, 1
    if not isinstance(raw, dict):
        raise GoldenSetError(f"must be a mapping, got {kind_of(raw)}", file=file, line=line, field="defaultTest")
    return _part(raw, file=file, line=line, templates=templates)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def slug(text: str) -> str:
    """A case id from a test description: `Réponse en français` -> `reponse-en-francais`."""
    return slug_text(text)


@dataclass(frozen=True)
class _Test:
    """One test as read, before its vars are expanded."""

    entry: TestEntry
    number: int
    own: _Part
    default: _Part
    description: str | None
    config: Path


def _read_test(test: TestEntry, number: int, default: _Part, config: Path, templates: dict[str, Any]) -> _Test:
    data, file, line = test.data, test.file, test.line
    for key, why in _REFUSED_TEST_KEYS.items():
        if key in data:
            raise GoldenSetError(why, file=file, line=line_of(data, (key,)) or line, field=key)
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise GoldenSetError(f"must be text, got {kind_of(description)}", file=file, line=line, field="description")
    own = _part(data, file=file, line=line, templates=templates)
    return _Test(test, number, own, default, description, config)


def _render_error(exc: TemplateError, test: _Test, what: str) -> GoldenSetError:
    data, file, line = test.entry.data, test.entry.file, test.entry.line
    return GoldenSetError(
        f"test {test.description or test.number!r} {what}: {exc}",
        file=file,
        line=line_of(data, ("vars",)) if isinstance(data, LineDict) else line,
        field=f"vars.{exc.variable}" if exc.variable else "vars",
    )


def _cases(test: _Test, prompts: list[Prompt]) -> list[Located]:
    file, line = test.entry.file, test.entry.line
    own, default = test.own, test.default
    merged = {**default.vars, **own.vars}
    choices = var_choices(merged, file=file, line=line, base=test.config.parent, config=test.config)
    options = {**default.options, **own.options}
    name = (slug(test.description) if test.description else "") or f"test-{test.number}"
    threshold = own.threshold if own.threshold is not None else default.threshold
    found: list[Located] = []
    for variables, suffix in expand(choices):
        metadata = {**default.metadata, **own.metadata}
        try:
            checks = map_asserts(default.asserts + own.asserts, partial(_render_with, variables=variables))
        except GoldenSetError as exc:
            raise GoldenSetError(f"test {test.description or test.number!r}: {exc.reason}", file=exc.file,
                                 line=exc.line, field=exc.field) from None
        first_expected = [a for a in checks.asserts if a.type in _EXPECTED_TYPES]
        own_types = {raw.assertion.type for raw in own.asserts}
        first_expected.sort(key=lambda a: a.type not in own_types)  # the test's own first
        expected = first_expected[0].value if first_expected else None
        if checks.similar:
            # semantic_similarity compares with the `similar` text, at this threshold.
            metadata["similarity_threshold"] = checks.similar[0][1]
        if expected is None:
            expected = variables.get("expected")
        tags = metadata.pop("tags", None) or variables.get("tags")
        if isinstance(tags, list):
            tags = [_text(tag) for tag in tags]
        metadata["vars"] = variables
        if test.description:
            metadata["description"] = test.description
        if any(checks.options):
            metadata["assert_options"] = checks.options
        if threshold is not None:
            metadata["threshold"] = threshold
        base = f"{name}-{suffix}" if suffix else name
        for k, prompt in enumerate(prompts, start=1):
            try:
                rendered = prompt.render(variables, prefix=str(options.get("prefix", "")),
                                         suffix=str(options.get("suffix", "")))
            except TemplateError as exc:
                label = f" ({prompt.label})" if prompt.label else ""
                raise _render_error(exc, test, f"with prompt {k}{label}") from None
            case_data = {
                "id": f"{base}-p{k}" if len(prompts) > 1 else base,
                "input": rendered,
                "expected": _text(expected),
                "criteria": "\n".join(checks.rubrics) or None,
                "assert": checks.asserts,
                "tags": tags or (),
                "metadata": {**metadata, **({"prompt": prompt.label} if prompt.label else {})},
            }
            found.append(Located(validate(Case, case_data, file=file, line=line), file, line))
    return found


def _render_with(template: str, *, variables: dict[str, Any]) -> str:
    return render(template, variables)


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
    config = parse_yaml(read_text(path, what="promptfoo config"), file=path, error=GoldenSetError, version="1.2")
    if not isinstance(config, LineDict):
        raise GoldenSetError(
            "a promptfoo config is a mapping with `prompts:` and `tests:`, "
            f"found {kind_of(config)}",
            file=path,
            line=1,
        )
    for key, why in _REFUSED_TOP_LEVEL.items():
        if key in config:
            raise GoldenSetError(f"`{key}` is not imported: {why}", file=path, line=config.key_lines[key], field=key)
    templates = _mapping(config, "assertionTemplates", file=str(path), line=config.line)
    prompts = load_prompts(config, path)
    default = _default_part(config, path, templates)
    found: list[Located] = []
    for number, entry in enumerate(load_tests(config, path), start=1):
        found.extend(_cases(_read_test(entry, number, default, path, templates), prompts))
    if not found:
        raise GoldenSetError(
            "no cases: `tests:` is empty", file=path, line=config.line, field="tests"
        )
    return finish(found, file=path)
