"""Limits on parsed user data (nesting depth, text that is not Unicode), so a hostile or broken file is
an error, not a crash further down."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 64
"""Deepest nesting of lists and mappings accepted in turnout.yaml and golden-set files. Real cases
nest a few levels (messages, metadata); the bound keeps every later step (validation, hashing,
storage as JSON) far from Python's recursion limit."""

TOO_DEEP = f"data nested more than {MAX_DEPTH} levels deep; flatten it"
"""The message for data past `MAX_DEPTH` (or too deep for the parser itself)."""


def nesting_depth(value: Any, *, limit: int = MAX_DEPTH) -> int:
    """How deeply *value*'s lists and mappings nest (a scalar is 0), counting no further than *limit* + 1.

    Iterative, so it cannot itself run out of stack on the data it is meant to refuse.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth > limit:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth) for child in children)
    return deepest


def too_deep(value: Any) -> bool:
    """Whether *value* nests past `MAX_DEPTH`."""
    return nesting_depth(value) > MAX_DEPTH


LONE_SURROGATE = ("a \\uD800-\\uDFFF escape that is not half of a surrogate pair; write the character "
                  "itself or its full code point")
"""The message for text holding a lone surrogate (an escape such as `\\ud83d` without its pair)."""


def join_surrogates(text: str) -> str | None:
    """*text* with escaped surrogate pairs (`\\ud83d\\ude00`, as JSON writes them) joined into their
    character; None when a lone surrogate remains, which no file, database or terminal can encode."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        return None


def has_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) in *value* holds a lone surrogate. Iterative, like `nesting_depth`."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if join_surrogates(item) is None:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
