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


class ConfigProblems(ConfigError):
    """Every problem found in one input (a file, a request body), reported together.

    Readers collect located problems instead of stopping at the first, so a user fixes a file in
    one pass; past `limit` problems the rest are counted, not listed. The API answers it as 422.
    """

    def __init__(self, problems: list[ConfigError], *, file: str | Path | None = None, more: int = 0) -> None:
        self.problems = tuple(problems)
        """The problems, each with its own file, line and field."""
        self.more = more
        """How many further problems were found but not kept."""
        total = len(self.problems) + more
        lines = [f"  {problem}" for problem in self.problems]
        if more:
            lines.append(f"  ... and {more} more")
        first = self.problems[0] if self.problems else None
        super().__init__(
            f"{total} problem(s):\n" + "\n".join(lines),
            file=file if file is not None else (first.file if first else None),
        )

    def to_data(self) -> list[dict[str, object]]:
        """The problems as JSON data: `{file, line, field, message}` each."""
        return [
            {"file": p.file, "line": p.line, "field": p.field, "message": p.reason} for p in self.problems
        ]


class ProblemCollector:
    """Gathers a file's problems up to a limit, then raises them all as one :class:`ConfigProblems`.

    Use `with collector.catching(): ...` around the work for one row or case: a
    :class:`ConfigError` raised inside is kept and the next row is read.
    """

    def __init__(self, *, file: str | Path | None = None, limit: int = 20) -> None:
        self.file = file
        self.limit = limit
        self.problems: list[ConfigError] = []
        self.more = 0

    def add(self, problem: ConfigError) -> None:
        """Keep *problem* (or flatten a ConfigProblems into its parts)."""
        parts = list(problem.problems) if isinstance(problem, ConfigProblems) else [problem]
        for part in parts:
            if len(self.problems) < self.limit:
                self.problems.append(part)
            else:
                self.more += 1
        if isinstance(problem, ConfigProblems):
            self.more += problem.more

    def catching(self) -> _Catching:
        """A context manager that keeps the ConfigError its body raises."""
        return _Catching(self)

    def raise_if_any(self) -> None:
        """Raise the collected problems: the single problem as itself, several as ConfigProblems."""
        if len(self.problems) == 1 and not self.more:
            raise self.problems[0]
        if self.problems:
            raise ConfigProblems(self.problems, file=self.file, more=self.more)


class _Catching:
    def __init__(self, collector: ProblemCollector) -> None:
        self.collector = collector

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> bool:
        if isinstance(error, ConfigError):
            self.collector.add(error)
            return True
        return False


class BadReference(ConfigError):
    """A drift reference that cannot be compared with the run checked (another golden set, an empty run)."""
