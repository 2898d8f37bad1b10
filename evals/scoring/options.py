"""Checks of scorer options, shared by the factories (a bad option is a TypeError naming it)."""

from __future__ import annotations

from typing import Any


def bool_option(name: str, value: Any) -> bool:
    """Check a true/false option.

    Args:
        name: The option's name, for the error.
        value: What the spec gave.

    Returns:
        *value*, checked.

    Raises:
        TypeError: naming the option, when *value* is not a bool.
    """
    if not isinstance(value, bool):
        raise TypeError(f"option '{name}' must be true or false, got {value!r}")
    return value


def text_option(name: str, value: Any, *, blank: bool = False) -> str:
    """Check a string option.

    Args:
        name: The option's name, for the error.
        value: What the spec gave.
        blank: Accept a string of only whitespace (text to look for may be a space); an empty
            string is refused either way.

    Returns:
        *value*, checked.

    Raises:
        TypeError: naming the option, when *value* is not a string, is empty, or (unless
            *blank*) holds only whitespace.
    """
    if not isinstance(value, str) or not (value if blank else value.strip()):
        raise TypeError(f"option '{name}' must be a non-empty string, got {value!r}")
    return value
