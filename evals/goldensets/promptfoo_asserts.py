"""promptfoo asserts: read (with `$ref` to `assertionTemplates`), rendered with the vars, mapped.

Mapped onto what Turnout runs (the asserts stay in the case, rendered, for the record):
- `llm-rubric` (every one, rendered with the vars) becomes the case's `criteria`, which the
  `judge` scorer grades against;
- `similar` and `not-similar` (a text or a list of texts, and `threshold`, promptfoo's default
  0.75; one per test) are graded by the `semantic_similarity` scorer against the closest text, at
  `metadata.similarity_threshold` (`not-similar` passes below it);
- `cost` and `latency` keep their `threshold` as the assertion value, checked by the `asserts`
  scorer on the measured completion; `levenshtein` and `assert-set` keep theirs on the assertion;
- `assert-set` keeps its asserts (each mapped the same way) as its value.
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
    children: tuple[RawAssert, ...] = ()
    """An `assert-set`'s asserts."""


@dataclass(frozen=True)
class Checks:
    """A test's asserts once rendered and mapped."""

    asserts: list[Assertion] = field(default_factory=list)
    options: list[dict[str, Any]] = field(default_factory=list)
    rubrics: list[str] = field(default_factory=list)
    similar: list[tuple[str, float, bool]] = field(default_factory=list)
    """The `similar` / `not-similar` text, its threshold, and whether it is negated."""


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
    data: dict[str, Any], *, file: str, line: int | None, templates: dict[str, Any], prefix: str = ""
) -> list[RawAssert]:
    """The `assert:` list of a test (or defaultTest, or an `assert-set`), validated.

    Raises:
        GoldenSetError: On a malformed assert, an unknown `$ref`, or a `transform`.
    """
    raw = data.get("assert")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise GoldenSetError("must be a list of {type, value} mappings", file=file, line=line,
                             field=f"{prefix}assert")
    found: list[RawAssert] = []
    for index, entry in enumerate(raw):
        entry_line = raw.item_lines[index] if isinstance(raw, LineList) else line
        name = f"{prefix}assert[{index}]"
        locate = partial(line_of, entry) if isinstance(entry, LineDict) else None
        plain = _resolve_ref(entry, templates, file=file, line=entry_line, field=name)
        children: tuple[RawAssert, ...] = ()
        if isinstance(plain, dict) and plain.get("type") == "assert-set":
            nested = entry if isinstance(entry, LineDict) and "assert" in entry else plain
            if not isinstance(nested.get("assert"), list) or not nested["assert"]:
                raise GoldenSetError("`assert-set` needs a non-empty `assert:` list", file=file, line=entry_line,
                                     field=f"{name}.assert")
            children = tuple(read_asserts(nested, file=file, line=entry_line, templates=templates,
                                          prefix=f"{name}."))
            plain = {k: v for k, v in plain.items() if k != "assert"}
        core = {k: v for k, v in plain.items() if k in ASSERT_FIELDS} if isinstance(plain, dict) else plain
        assertion = validate(Assertion, core, file=file, line=entry_line, field_prefix=name, locate=locate)
        options = {k: v for k, v in plain.items() if k not in ASSERT_FIELDS}
        refuse_javascript(options, file=file, line=entry_line, field_prefix=f"{name}.")
        found.append(RawAssert(assertion, options, file, entry_line, name, children))
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


_THRESHOLD_IN_ASSERTION = ("levenshtein", "not-levenshtein", "assert-set")
"""Types whose `threshold` Turnout keeps on the assertion and checks."""
_THRESHOLD_AS_VALUE = ("cost", "latency")
"""Types whose `threshold` becomes the value: the most the answer may cost or take."""


def _map_one(raw: RawAssert, render: Callable[[str], str]) -> Assertion:
    """The assertion as the `asserts` scorer runs it: value rendered, threshold where it is checked."""
    kind = raw.assertion.type
    if kind in _THRESHOLD_AS_VALUE:
        return raw.assertion.model_copy(update={"value": _threshold(raw, default=None)})
    try:
        value = _render_value(raw.assertion.value, render)
    except TemplateError as exc:
        raise GoldenSetError(str(exc), file=raw.file, line=raw.line, field=f"{raw.field}.value") from None
    update: dict[str, Any] = {"value": value}
    if kind == "assert-set":
        update["value"] = [_map_one(child, render).model_dump(exclude_defaults=True) for child in raw.children]
    if kind in _THRESHOLD_IN_ASSERTION and "threshold" in raw.options:
        update["threshold"] = _threshold(raw, default=None)
    return raw.assertion.model_copy(update=update)


def _options(raw: RawAssert) -> dict[str, Any]:
    """What the assert says besides what is mapped, kept for the record."""
    used = ("threshold",) if raw.assertion.type in _THRESHOLD_AS_VALUE + _THRESHOLD_IN_ASSERTION else ()
    options = {k: v for k, v in raw.options.items() if k not in used}
    nested = [_options(child) for child in raw.children]
    if any(nested):
        options["assert"] = nested
    return options


def map_asserts(raws: list[RawAssert], render: Callable[[str], str]) -> Checks:
    """Render each assert's value with the test's vars and map it onto Turnout's checks.

    Args:
        raws: The asserts, defaultTest's first.
        render: Renders one template string with the test's vars.

    Raises:
        GoldenSetError: On a value that cannot be rendered, a mapped type with a bad value, or
            more than one `similar` / `not-similar` (semantic_similarity grades one per case).
    """
    checks = Checks()
    for raw in raws:
        kind = raw.assertion.type
        assertion = _map_one(raw, render)
        value = assertion.value
        if kind == "llm-rubric":
            if not isinstance(value, str) or not value.strip():
                raise GoldenSetError(
                    f"`llm-rubric` needs the rubric as text, got {kind_of(value)}",
                    file=raw.file, line=raw.line, field=f"{raw.field}.value",
                )  # fmt: skip
            checks.rubrics.append(value.strip())
        if kind in ("similar", "not-similar"):
            texts = value if isinstance(value, list) else [value]
            if not texts or not all(isinstance(text, str) and text.strip() for text in texts):
                raise GoldenSetError(
                    f"`{kind}` needs a text, or a list of texts, to compare with; got {kind_of(value)}",
                    file=raw.file, line=raw.line, field=f"{raw.field}.value",
                )  # fmt: skip
            if checks.similar:
                raise GoldenSetError(
                    "a second `similar`/`not-similar` in one test: Turnout's semantic_similarity grades one per "
                    "case; split the test, or turn the others into deterministic asserts",
                    file=raw.file, line=raw.line, field=raw.field,
                )  # fmt: skip
            checks.similar.append((texts[0], _threshold(raw, default=SIMILAR_THRESHOLD), kind == "not-similar"))
        checks.asserts.append(assertion)
        checks.options.append(_options(raw))
    return checks
