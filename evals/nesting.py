"""A bound on how deeply user data may nest, so a hostile or broken file is an error, not a crash."""

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
