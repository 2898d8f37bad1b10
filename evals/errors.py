"""The few error types of the core, with messages that tell the user what to fix."""

from __future__ import annotations

from pathlib import Path


class TurnoutError(Exception):
    """Base of every error Turnout raises on purpose."""


class ConfigError(TurnoutError):
    """Bad user input: a golden-set file, turnout.yaml, or a command-line value.

    The message names where the problem is (file, line, field) and what to change.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
        if self.field:
            where = f"{where}: field '{self.field}'" if where else f"field '{self.field}'"
        return f"{where}: {self.reason}" if where else self.reason


class GoldenSetError(ConfigError):
    """A golden-set file or inline case list that cannot be read."""


class PolicyViolation(ConfigError):
    """A declaration that would break the privacy policy (e.g. confidential data to an API)."""


class UnknownScorer(ConfigError):
    """A scorer spec names a scorer that is not registered, or gives it bad options."""


class BadReference(ConfigError):
    """A drift reference that cannot be compared with the run checked (another golden set, an empty run)."""
