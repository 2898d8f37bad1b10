"""The part of Nunjucks that promptfoo prompts use: `{{ name }}` and `{{ name.field }}`.

Anything else (filters, `{% if %}` blocks) is refused rather than rendered wrongly.
Values render as Nunjucks renders JavaScript values: `true`, `3`, `1.5`, empty for null.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_PATH = re.compile(r"\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*")


class TemplateError(ValueError):
    """A template that cannot be rendered; `variable` names the culprit when there is one."""

    def __init__(self, message: str, *, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


def check_template(template: str) -> None:
    """Refuse templates that use more than variable substitution.

    Raises:
        TemplateError: On `{% ... %}` statements or expressions other than a dotted name.
    """
    text = _COMMENT.sub("", template)
    if "{%" in text:
        raise TemplateError("Nunjucks statements ({% ... %}) are not supported; use {{ var }} only")
    for match in _EXPRESSION.finditer(text):
        if not _PATH.fullmatch(match.group(1)):
            raise TemplateError(
                f"unsupported expression {match.group(0)!r}: only {{{{ var }}}} and "
                "{{ var.field }} are supported"
            )


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        # promptfoo runs a test once per element of an array var; one case cannot say that.
        raise TemplateError(
            f"var {name!r} is a list: promptfoo expands it into one test per value, which "
            "is not supported here; write one test per value",
            variable=name,
        )
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Substitute `{{ name }}` and `{{ name.field }}` in *template*.

    Args:
        template: Prompt text, already accepted by :func:`check_template`.
        variables: The test's vars.

    Returns:
        The rendered text.

    Raises:
        TemplateError: When a variable is not defined (its name in `variable`).
    """

    def substitute(match: re.Match[str]) -> str:
        path_match = _PATH.fullmatch(match.group(1))
        if path_match is None:
            raise TemplateError(f"unsupported expression {match.group(0)!r}")
        path = path_match.group(1)
        head, *rest = path.split(".")
        if head not in variables:
            raise TemplateError(
                f"the prompt uses var {head!r}, which the test's vars do not define",
                variable=head,
            )
        value = variables[head]
        for part in rest:
            if not isinstance(value, dict) or part not in value:
                raise TemplateError(
                    f"the prompt uses var {path!r}, which the test's vars do not define",
                    variable=path,
                )
            value = value[part]
        return _text(value, path)

    return _EXPRESSION.sub(substitute, _COMMENT.sub("", template))
