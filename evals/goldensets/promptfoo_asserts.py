"""promptfoo asserts: read (with `$ref` to `assertionTemplates`), rendered with the vars, mapped.

Mapped onto what Turnout runs (the asserts stay in the case, rendered, for the record):
- `llm-rubric` (every one, rendered with the vars) becomes the case's `criteria`, which the
  `judge` scorer grades against;
- `similar` (value and `threshold`, promptfoo's default 0.75) is graded by the
  `semantic_similarity` scorer against its text, at `metadata.similarity_threshold`;
- `cost` and `latency` keep their `threshold` as the assertion value, checked by the `asserts`
  scorer on the measured completion.
Refused by name: `transform` (it runs JavaScript). Other types stay as written; those Turnout
cannot run are listed by `turnout apply`, which refuses them unless told to import them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from evals.cases import Assertion
from evals.errors import GoldenSetError
from evals.goldensets.common import kind_of, validate
from evals.goldensets.template import TemplateError
from evals.yamllines import LineDict, LineList, line_of, to_plain

ASSERT_FIELDS = ("type", "value", "weight")
SIMILAR_THRESHOLD = 0.75
"""promptfoo's default threshold for `similar`."""
JAVASCRIPT_OPTIONS = ("transform", "postprocess", "transformVars")
"""Options that run JavaScript in promptfoo: refused, since dropping them changes the score."""


@dataclass(frozen=True)
class RawAssert:
    """An assert as written, validated but not yet rendered with a test's vars."""

    assertion: Assertion
    options: dict[str, Any]
    file: str
    line: int | None
    field: str


@dataclass(frozen=True)
class Checks:
    """A test's asserts once rendered and mapped."""

    asserts: list[Assertion] = field(default_factory=list)
    options: list[dict[str, Any]] = field(default_factory=list)
    rubrics: list[str] = field(default_factory=list)
    similar: list[tuple[str, float]] = field(default_factory=list)


def refuse_javascript(options: dict[str, Any], *, file: str, line: int | None, field_prefix: str) -> None:
    """Refuse `transform`-style options, which need JavaScript to mean what they say."""
    for key in JAVASCRIPT_OPTIONS:
        if key in options:
            raise GoldenSetError(
                f"promptfoo's `{key}` runs JavaScript on the output before checking it, which Turnout "
                "does not do; remove it (and adapt the asserts) to import this test",
                file=file,
                line=line,
                field=f"{field_prefix}{key}",
            )


def _resolve_ref(entry: Any, templates: dict[str, Any], *, file: str, line: int | None, field: str) -> Any:
    if not (isinstance(entry, dict) and "$ref" in entry):
        return to_plain(entry)
    ref = entry["$ref"]
    name = ref.removeprefix("#/assertionTemplates/") if isinstance(ref, str) else None
    if name is None or name == ref or name not in templates:
        known = ", ".join(sorted(templates)) or "none"
        raise GoldenSetError(
            f"$ref {ref!r} names no assertion template (`#/assertionTemplates/<name>`; declared: {known})",
            file=file,
            line=line,
            field=f"{field}.$ref",
        )
    template = to_plain(templates[name])
    if not isinstance(template, dict):
        raise GoldenSetError(
            f"assertion template {name!r} must be a mapping, got {kind_of(template)}", file=file, line=line, field=field
        )
    return {**template, **{k: v for k, v in to_plain(entry).items() if k != "$ref"}}


def read_asserts(
    data: dict[str, Any], *, file: str, line: int | None, templates: dict[str, Any]
) -> list[RawAssert]:
    """The `assert:` list of a test (or defaultTest), validated.

    Raises:
        GoldenSetError: On a malformed assert, an unknown `$ref`, or a `transform`.
    """
    raw = data.get("assert")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise GoldenSetError("must be a list of {type, value} mappings", file=file, line=line, field="assert")
    found: list[RawAssert] = []
    for index, entry in enumerate(raw):
        entry_line = raw.item_lines[index] if isinstance(raw, LineList) else line
        name = f"assert[{index}]"
        locate = partial(line_of, entry) if isinstance(entry, LineDict) else None
        plain = _resolve_ref(entry, templates, file=file, line=entry_line, field=name)
        if isinstance(plain, dict) and plain.get("type") == "assert-set" and "assert" in plain:
            plain = {**plain, "value": plain.pop("assert")}  # the nested asserts are its value
        core = {k: v for k, v in plain.items() if k in ASSERT_FIELDS} if isinstance(plain, dict) else plain
        assertion = validate(Assertion, core, file=file, line=entry_line, field_prefix=name, locate=locate)
        options = {k: v for k, v in plain.items() if k not in ASSERT_FIELDS}
        refuse_javascript(options, file=file, line=entry_line, field_prefix=f"{name}.")
        found.append(RawAssert(assertion, options, file, entry_line, name))
    return found


def _render_value(value: Any, render: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return render(value)
    if isinstance(value, list):
        return [_render_value(item, render) for item in value]
    if isinstance(value, dict):
        return {key: _render_value(item, render) for key, item in value.items()}
    return value


def _threshold(raw: RawAssert, *, default: float | None) -> float:
    value = raw.options.get("threshold", default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GoldenSetError(
            f"`{raw.assertion.type}` needs a numeric `threshold`, got {kind_of(value)}",
            file=raw.file,
            line=raw.line,
            field=f"{raw.field}.threshold",
        )
    return float(value)


def map_asserts(raws: list[RawAssert], render: Callable[[str], str]) -> Checks:
    """Render each assert's value with the test's vars and map it onto Turnout's checks.

    Args:
        raws: The asserts, defaultTest's first.
        render: Renders one template string with the test's vars.

    Raises:
        GoldenSetError: On a value that cannot be rendered, or a mapped type with a bad value.
    """
    checks = Checks()
    for raw in raws:
        kind = raw.assertion.type
        try:
            value = _render_value(raw.assertion.value, render)
        except TemplateError as exc:
            raise GoldenSetError(str(exc), file=raw.file, line=raw.line, field=f"{raw.field}.value") from None
        if kind == "llm-rubric":
            if not isinstance(value, str) or not value.strip():
                raise GoldenSetError(
                    f"`llm-rubric` needs the rubric as text, got {kind_of(value)}",
                    file=raw.file, line=raw.line, field=f"{raw.field}.value",
                )  # fmt: skip
            checks.rubrics.append(value.strip())
        if kind == "similar":
            texts = value if isinstance(value, list) else [value]
            if not texts or not all(isinstance(text, str) and text.strip() for text in texts) or len(texts) > 1:
                raise GoldenSetError(
                    "`similar` is mapped to semantic_similarity against one expected answer: give one text",
                    file=raw.file, line=raw.line, field=f"{raw.field}.value",
                )  # fmt: skip
            checks.similar.append((texts[0], _threshold(raw, default=SIMILAR_THRESHOLD)))
        if kind in ("cost", "latency"):
            value = _threshold(raw, default=None)
        checks.asserts.append(raw.assertion.model_copy(update={"value": value}))
        checks.options.append({k: v for k, v in raw.options.items() if kind not in ("cost", "latency")
                               or k != "threshold"})
    return checks
