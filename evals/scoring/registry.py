"""Scorers as registered factories, and the spec stored with every score.

A scorer spec is `{name, options}`; on the command line it is written `NAME` or
`NAME:{json options}`. Its `key` is the canonical text that scores are stored under, so the
same spec always finds the same stored scores and any run can be re-scored later.

Scorers that call models (LLM judges) need a :class:`~evals.scoring.context.ScorerContext`:
their factory declares a `context` parameter and `build(context)` passes it. Parsing a spec
validates its options without a context (see evals/scoring/context.py for how).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from evals.cases import Case, canonical_json
from evals.errors import UnknownScorer
from evals.results import Completion, Score
from evals.scoring.context import NoContext, ScorerContext


class Scorer(Protocol):
    """Judges one completion of one case.

    `production` is the production model's completion of the same case when the run being
    scored is a candidate's (pairwise judges need it), else None.
    """

    async def __call__(
        self, case: Case, completion: Completion, production: Completion | None = None
    ) -> Score: ...


ScorerFactory = Callable[..., Scorer]


@dataclass(frozen=True)
class RegisteredScorer:
    """A factory and the version stored with its scores (bump it when results would change)."""

    name: str
    version: str
    factory: ScorerFactory
    description: str

    @property
    def takes_context(self) -> bool:
        """True when the factory declares a `context` parameter (it may call models)."""
        return "context" in inspect.signature(self.factory).parameters


_REGISTRY: dict[str, RegisteredScorer] = {}


def scorer(name: str, *, version: str = "1") -> Callable[[ScorerFactory], ScorerFactory]:
    """Register a scorer factory under *name*.

    Example::

        @scorer("contains")
        def contains(*, ignore_case: bool = True) -> Scorer: ...
    """

    def register(factory: ScorerFactory) -> ScorerFactory:
        if name in _REGISTRY and _REGISTRY[name].factory is not factory:
            raise ValueError(f"scorer {name!r} is registered twice")
        doc = (factory.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = RegisteredScorer(name, version, factory, doc[0] if doc else "")
        return factory

    return register


def registered_scorers() -> dict[str, RegisteredScorer]:
    """All registered scorers by name (built-ins included)."""
    _load_builtins()
    return dict(_REGISTRY)


def _load_builtins() -> None:
    # The catalog's modules register their factories as they are decorated; imported lazily
    # because they import this module.
    import evals.scoring.catalog  # noqa: F401


@dataclass(frozen=True)
class ScorerSpec:
    """Which scorer, with which options; stored with every score it produces."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    primary: bool = False
    """The watch's primary scorer (the one `score_mean` reports)."""

    @property
    def key(self) -> str:
        """Canonical text form: `name` or `name:{sorted json options}`; the stored score key."""
        if not self.options:
            return self.name
        return f"{self.name}:{canonical_json(self.options)}"

    @property
    def version(self) -> str:
        """The registered scorer's version."""
        return _lookup(self.name).version

    @classmethod
    def parse(cls, text: str) -> ScorerSpec:
        """Read `NAME` or `NAME:{json options}` as written on the command line."""
        name, sep, raw = text.partition(":")
        name = name.strip()
        options: dict[str, Any] = {}
        if sep:
            try:
                loaded = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise UnknownScorer(
                    f"options of scorer '{name}' are not valid JSON ({exc.msg} at column {exc.colno}); "
                    "write NAME:{\"option\": value}"
                ) from None
            if not isinstance(loaded, dict):
                raise UnknownScorer(f"options of scorer '{name}' must be a JSON object")
            options = loaded
        spec = cls(name=name, options=options)
        spec.validate()  # refuse unknown names and bad options now, not halfway through a run
        return spec

    @classmethod
    def from_data(cls, data: str | dict[str, Any]) -> ScorerSpec:
        """Read a spec from turnout.yaml: a name, or `{name, options, primary}`."""
        if isinstance(data, str):
            return cls.parse(data)
        unknown = set(data) - {"name", "options", "primary"}
        if unknown:
            raise UnknownScorer(f"unknown key(s) {sorted(unknown)} in scorer; use name, options, primary")
        if not isinstance(data.get("name"), str):
            raise UnknownScorer("a scorer needs a 'name'")
        options = data.get("options") or {}
        if not isinstance(options, dict):
            raise UnknownScorer(f"options of scorer '{data['name']}' must be a mapping")
        spec = cls(name=data["name"], options=dict(options), primary=bool(data.get("primary", False)))
        spec.validate()
        return spec

    def to_data(self) -> dict[str, Any]:
        """The spec as stored: `{name, options, version}` (+ `primary` when set)."""
        data: dict[str, Any] = {"name": self.name, "options": self.options, "version": self.version}
        if self.primary:
            data["primary"] = True
        return data

    def validate(self) -> None:
        """Check the name and options without building anything that needs a context.

        Raises:
            UnknownScorer: for an unknown name or bad options.
        """
        try:
            self.make(None)
        except NoContext:
            pass  # the factory checked its options before it asked for the context

    def build(self, context: ScorerContext | None = None) -> Scorer:
        """Instantiate the scorer.

        Args:
            context: Judge models and cache, for scorers that call models; others ignore it.

        Raises:
            UnknownScorer: for an unknown name or bad options, or when the scorer needs a
                context and none was given.
        """
        try:
            return self.make(context)
        except NoContext:
            raise UnknownScorer(
                f"scorer '{self.name}' needs a judge model; build it with a ScorerContext that "
                "provides the judge models (the jobs layer makes one from the stored models)"
            ) from None

    def make(self, context: ScorerContext | None) -> Scorer:
        """Like :meth:`build`, but lets NoContext through (composite scorers build parts with it)."""
        registered = _lookup(self.name)
        options = dict(self.options)
        if registered.takes_context:
            if "context" in options:
                raise UnknownScorer(f"bad options for scorer '{self.name}': 'context' is not an option")
            options["context"] = context
        try:
            return registered.factory(**options)
        except TypeError as exc:
            raise UnknownScorer(f"bad options for scorer '{self.name}': {exc}") from None
        except ValueError as exc:
            raise UnknownScorer(f"bad options for scorer '{self.name}': {exc}") from None


def _lookup(name: str) -> RegisteredScorer:
    registry = registered_scorers()
    if name not in registry:
        known = ", ".join(sorted(registry))
        raise UnknownScorer(f"unknown scorer '{name}'; known scorers: {known}")
    return registry[name]


def primary_spec(specs: list[ScorerSpec]) -> ScorerSpec:
    """The primary scorer: the one marked `primary: true`, else the first."""
    if not specs:
        raise UnknownScorer("a watch needs at least one scorer")
    marked = [spec for spec in specs if spec.primary]
    if len(marked) > 1:
        raise UnknownScorer("only one scorer may say primary: true")
    return marked[0] if marked else specs[0]
