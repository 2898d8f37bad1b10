"""Turning a case into the chat messages sent to a model."""

from __future__ import annotations

import string

from evals.cases import Case
from evals.errors import ConfigError

DEFAULT_TEMPLATE = "{context}\n\n{input}"
"""Puts the case's document before its question; without a context only the question is sent."""


def check_template(template: str) -> None:
    """Refuse a template with placeholders other than plain `{input}` and `{context}`.

    Attribute and index lookups (`{input.x}`, `{input[0]}`) are refused too: a case's input is text,
    and such a template would fail only when the first prompt is built.

    Raises:
        ConfigError: naming the placeholder and what a template may use.
    """
    usable = "it may use only {input} and {context}, and literal braces must be doubled"
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
        for name in fields:
            if name not in ("input", "context"):
                raise ConfigError(f"template {template!r} has the placeholder {{{name}}}; {usable}")
        template.format(input="", context="")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"template {template!r} is not usable ({exc}); {usable}") from None


def render_prompt(template: str, *, text: str, context: str | None) -> str:
    """Fill *template*; with no context, the template's context part (and its separator) drops out."""
    if context is None:
        return template.format(input=text, context="").strip()
    return template.format(input=text, context=context)


def build_messages(case: Case, template: str = DEFAULT_TEMPLATE) -> list[dict[str, str]]:
    """The chat messages for *case*.

    A string input becomes one user message made from the template. For a message list the
    template applies to the last user message, so a document can still be placed into it.
    """
    if isinstance(case.input, str):
        return [{"role": "user", "content": render_prompt(template, text=case.input, context=case.context)}]
    messages = [{"role": m.role, "content": m.content} for m in case.input]
    if case.context is not None:
        for message in reversed(messages):
            if message["role"] == "user":
                message["content"] = render_prompt(template, text=message["content"], context=case.context)
                break
    return messages
