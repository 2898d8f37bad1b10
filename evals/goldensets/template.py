"""promptfoo's Nunjucks templates, rendered by Jinja2 in a sandbox.

Jinja2's syntax is Nunjucks-compatible for what promptfoo configs use: `{{ var }}`,
`{{ var.field }}`, `{% if %}`, `{% for %}`, comments, and the built-in filters (`upper`, `lower`,
`trim`, `length`, `join`, `default`, `replace`, ...), plus Nunjucks' `dump` (JSON) and promptfoo's
`load` (JSON.parse of a text var). Filters that neither has, such as promptfoo's
`nunjucksFilters`, are refused by name. Values render as Nunjucks renders JavaScript values:
`true`, `3`, `1.5`, empty for null, JSON for objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateRuntimeError, TemplateSyntaxError, UndefinedError
from jinja2 import TemplateError as JinjaError
from jinja2.nodes import Filter, Name, Test
from jinja2.nodes import Template as TemplateNode
from jinja2.sandbox import SandboxedEnvironment


class TemplateError(ValueError):
    """A template that cannot be rendered; `variable` names the culprit when there is one."""

    def __init__(self, message: str, *, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


def _js_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _dump(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


def _load(value: Any) -> Any:
    # promptfoo's built-in filter: JSON.parse, which fails on what is not JSON text.
    if not isinstance(value, str):
        raise TemplateRuntimeError(f"the `load` filter parses JSON text, got {type(value).__name__}")
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise TemplateRuntimeError(f"the `load` filter got text that is not JSON ({exc.msg} at {exc.pos})") from None


@lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    # Sandboxed: templates come from other people's configs and must not reach Python objects.
    env = SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, finalize=_js_text
    )
    env.filters["dump"] = _dump
    env.filters["load"] = _load
    return env


def _parse(template: str) -> TemplateNode:
    try:
        return _environment().parse(template)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"invalid Nunjucks template (line {exc.lineno}): {exc.message}") from None


def check_template(template: str) -> None:
    """Refuse templates Jinja2 cannot read as Nunjucks, or that use filters neither has.

    Raises:
        TemplateError: Naming the syntax error or the unknown filter.
    """
    tree = _parse(template)
    env = _environment()
    for node in tree.find_all((Filter, Test)):
        known = env.filters if isinstance(node, Filter) else env.tests
        if node.name not in known:
            kind = "filter" if isinstance(node, Filter) else "test"
            raise TemplateError(
                f"unsupported expression: Nunjucks {kind} {node.name!r} is not built in; custom "
                "filters (promptfoo's `nunjucksFilters`) are not supported"
            )


def variables_of(template: str) -> set[str]:
    """The top-level names a template reads (loop variables included)."""
    return {node.name for node in _parse(template).find_all(Name) if node.ctx == "load"}


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Render *template* with the test's vars.

    Args:
        template: Prompt or assertion text, already accepted by :func:`check_template`.
        variables: The test's vars.

    Returns:
        The rendered text.

    Raises:
        TemplateError: When a variable is not defined (its name in `variable`) or rendering fails.
    """
    if "{" not in template:
        return template
    check_template(template)
    try:
        return _environment().from_string(template).render({str(k): v for k, v in variables.items()})
    except UndefinedError as exc:
        missing = _missing_name(exc, template, variables)
        raise TemplateError(
            f"the prompt uses var {missing!r}, which the test's vars do not define", variable=missing
        ) from None
    except JinjaError as exc:
        raise TemplateError(f"cannot render the template: {exc}") from None


def _missing_name(exc: UndefinedError, template: str, variables: Mapping[str, Any]) -> str:
    # Jinja says "'q' is undefined" or "'dict object' has no attribute 'x'"; name the var path.
    message = str(exc)
    if message.endswith(" is undefined") and message.startswith("'"):
        return message[1:].split("'", 1)[0]
    for name in sorted(variables_of(template)):
        if name not in variables:
            return name
    attribute = message.rsplit("attribute ", 1)[-1].strip("'")
    heads = [name for name in variables_of(template) if isinstance(variables.get(name), dict)]
    return f"{heads[0]}.{attribute}" if len(heads) == 1 else attribute
