"""What scorers that need outside things (a judge model, a cache of its verdicts) are built with.

A factory that needs a context declares a `context` parameter; `ScorerSpec.build` passes it.
Validation at parse time has no context: such a factory checks its options first, then calls
:func:`require_context`, which raises :class:`NoContext` when there is none. The registry treats
that as "options are valid" when validating, and as a user error ("needs a judge model") when
building for real.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from evals.cases import canonical_json, sha256_hex
from evals.providers.base import Provider


class JudgeCache(Protocol):
    """Stored judge answers, keyed by :func:`judge_cache_key`."""

    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def put(self, key: str, value: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class ScorerContext:
    """What the jobs layer hands to scorers that call models."""

    providers: Callable[[str], Provider]
    """Judge model name -> its provider; raises evals.errors.ConfigError for an unknown name."""
    cache: JudgeCache | None = None
    """Where judge answers are kept so re-scoring does not pay for them twice; None: no caching."""


class NoContext(Exception):
    """A factory that needs a ScorerContext was called without one (options already checked)."""


def require_context(context: ScorerContext | None) -> ScorerContext:
    """Return *context*, or raise NoContext; call it after the options are validated."""
    if context is None:
        raise NoContext
    return context


def judge_cache_key(model: str, prompt_version: str, messages: list[dict[str, str]]) -> str:
    """SHA-256 of the canonical JSON of (judge model name, prompt version, rendered messages)."""
    return sha256_hex(canonical_json([model, prompt_version, messages]))


class MemoryJudgeCache:
    """A JudgeCache in a dict, for tests and one-off runs."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    async def get(self, key: str) -> dict[str, Any] | None:
        """The stored value, or None."""
        return self.entries.get(key)

    async def put(self, key: str, value: dict[str, Any]) -> None:
        """Store *value* under *key*."""
        self.entries[key] = value
