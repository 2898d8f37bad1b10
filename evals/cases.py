"""Golden sets and their cases: small frozen values with content hashes."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Privacy = Literal["public", "internal", "confidential"]
"""How far a golden set's data may travel; `confidential` never goes to an API model by default."""

PRIVACY_CLASSES: tuple[Privacy, ...] = ("public", "internal", "confidential")


def canonical_json(value: Any) -> str:
    """Serialise *value* the same way every time (sorted keys, no spaces), for hashing and keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    """Hex SHA-256 of the UTF-8 bytes of *text*."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Message(BaseModel):
    """One OpenAI-style chat message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["system", "user", "assistant", "developer", "tool"]
    """Who speaks."""
    content: str
    """What is said."""


class Assertion(BaseModel):
    """A per-case check in promptfoo's vocabulary (`type: contains`, `value: Paris`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    """The check, e.g. `equals`, `contains`, `icontains`, `regex`, `is-json`; `not-` negates."""
    value: Any = None
    """What the check compares against; its meaning depends on `type`."""
    weight: float = 1.0
    """Relative weight of this check in the case's `asserts` score."""
    threshold: float | None = None
    """promptfoo's `threshold` for the types that take one here: `levenshtein` (most edits, default 5)
    and `assert-set` (the weighted score its asserts must reach; without it, all must pass)."""


class Case(BaseModel):
    """One curated case of a golden set."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(min_length=1)
    """Identifier, unique within the golden set."""
    input: str | tuple[Message, ...]
    """A prompt, or a list of chat messages."""
    context: str | None = None
    """An optional document the question is about; the watch's template puts it into the prompt."""
    expected: str | None = None
    """The reference answer, when there is one."""
    accepted: tuple[str, ...] = ()
    """Further answers that count as right besides `expected` (e.g. a list of OpenAI-evals ideals)."""
    criteria: str | None = None
    """Grading notes for judges."""
    asserts: tuple[Assertion, ...] = Field(default=(), alias="assert")
    """Per-case checks, applied by the `asserts` scorer."""
    tags: tuple[str, ...] = ()
    """Segments such as `lang:fr` or `doc:long`."""
    cluster: str | None = None
    """Cases drawn from the same source share a cluster: they are not independent."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free-form data carried along, not hashed into nothing: it is part of the content."""

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        # CSV and YAML readers hand over numbers for ids such as 17; ids are text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("input")
    @classmethod
    def _input_not_empty(cls, value: str | tuple[Message, ...]) -> str | tuple[Message, ...]:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        if isinstance(value, tuple) and not value:
            raise ValueError("must have at least one message")
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(tag.strip() for tag in value.split(";") if tag.strip())
        return value

    def to_data(self) -> dict[str, Any]:
        """The case as plain JSON data, in the same shape the JSONL format reads."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Case:
        """Rebuild a case from :meth:`to_data` output."""
        return cls.model_validate(data)

    @property
    def content_hash(self) -> str:
        """SHA-256 of the case's canonical JSON: equal for unchanged cases across versions."""
        return sha256_hex(canonical_json(self.to_data()))


class GoldenSet(BaseModel):
    """A named, versioned list of cases with a privacy class."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    privacy: Privacy = "internal"
    cases: tuple[Case, ...]

    @property
    def content_hash(self) -> str:
        """The version: SHA-256 over the privacy class and the ordered case hashes."""
        parts = [self.privacy, *(case.content_hash for case in self.cases)]
        return sha256_hex("\n".join(parts))
