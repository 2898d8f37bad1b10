"""Read models of cycles, runs and results: what `--json` prints and what the API will serve.

Named like the full-stack-fastapi-template's schemas (`XPublic`, `XsPublic`): each is a pydantic
model a FastAPI route can name as its `response_model`, and `model_dump(mode="json")` is the JSON
the CLI prints.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, SerializerFunctionWrapHandler, model_serializer

from evals.results import FailureKind
from service.storage.tables import Role, State, Trigger

IsoDatetime = Annotated[datetime, PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json")]
"""A time, written in JSON as `datetime.isoformat` writes it."""


class FrozenPublic(BaseModel):
    """The base of every read model: values, never changed once built."""

    model_config = ConfigDict(frozen=True)


class IntervalPublic(FrozenPublic):
    """A run's mean score on one segment, with its confidence interval."""

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    """Cases in the segment."""


class RunSummaryPublic(FrozenPublic):
    """One run of a cycle: progress, primary score with its interval, latency, tokens and cost."""

    run_id: int
    model: str
    simulated: bool = False
    """The model is simulated (`kind: sim`): every output labels it so."""
    role: Role
    state: State
    reason: str | None
    failure_kind: FailureKind | None
    """Why it failed or was cancelled (`reason` says it in words); None otherwise."""
    n_cases: int
    """Cases answered (with an answer or a final error)."""
    n_errors: int
    score_mean: float | None
    """Mean of the primary scorer over the run's scored completions."""
    score_ci_low: float | None
    score_ci_high: float | None
    scores: dict[str, float | None]
    """Scorer key → mean score."""
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    segments: dict[str, IntervalPublic]
    unscorable: dict[str, int] = {}
    """Cases no score could judge, by cause (`unsupported asserts`: imported with `--allow-unsupported`)."""
    """Tag → the primary scorer's interval on the cases with that tag."""


class CyclePublic(FrozenPublic):
    """A cycle with one summary per run (`turnout run`)."""

    cycle_id: int
    watch: str
    golden_set: str
    golden_set_version: str | None
    """The content hash of the golden-set version the cycle pinned."""
    state: State
    reason: str | None
    failure_kind: FailureKind | None
    """Why it failed or was cancelled (`reason` says it in words); None otherwise."""
    primary_scorer: str
    cost_usd: float
    runs: list[RunSummaryPublic]


class RunProgressPublic(FrozenPublic):
    """One run's progress in `turnout status`."""

    run_id: int
    model: str
    simulated: bool = False
    """The model is simulated (`kind: sim`): every output labels it so."""
    role: Role
    state: State
    done: int
    total: int
    errors: int


class CycleStatusPublic(FrozenPublic):
    """A cycle in `turnout status`: where it is in the pipeline, and its runs' progress."""

    cycle_id: int
    watch: str
    state: State
    step: str
    reason: str | None
    failure_kind: FailureKind | None
    trigger: Trigger
    scheduled_for: IsoDatetime | None
    created_at: IsoDatetime
    runs: list[RunProgressPublic]


class CyclesPublic(FrozenPublic):
    """Cycles, open ones first, then the most recent others."""

    cycles: list[CycleStatusPublic]


class CaseResultPublic(FrozenPublic):
    """One completion of a run with its scores (`turnout results`)."""

    case_id: str
    """The case's id in its golden set."""
    output: str | None
    error: str | None
    attempts: int
    retried: list[str]
    latency_ms: float | None
    ttft_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    scores: dict[str, float | None]
    """Scorer key → value; None where the scorer could not judge."""
    repetition: int | None = None
    """Which repetition; only for runs that repeat each case."""
    tokens_estimated: bool | None = None
    """True when the provider reported no token counts and they were estimated; absent otherwise."""

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key in ("repetition", "tokens_estimated"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class RunResultsPublic(FrozenPublic):
    """A run with its per-case results, in golden-set order."""

    run_id: int
    model: str
    simulated: bool = False
    """The model is simulated (`kind: sim`): every output labels it so."""
    role: Role
    state: State
    cases: list[CaseResultPublic]
    unscorable: dict[str, int] = {}
    """Cases of the whole run no score could judge, by cause (`unsupported asserts`: imported with
    `--allow-unsupported`)."""


class RecommendationPublic(FrozenPublic):
    """The advisor's recommendation after one cycle (`turnout advise`, `turnout run`)."""

    watch: str
    cycle_id: int
    verdict: str
    """The announced verdict: `stay` until a verdict has held for `hysteresis` cycles."""
    to: str | None
    """The announced switch target; None unless `verdict` is `switch_advisable`."""
    cycle_verdict: str
    """This cycle's own verdict."""
    cycle_to: str | None
    """This cycle's switch target."""
    consecutive: int
    """Cycles the current (cycle_verdict, cycle_to) has held."""
    changed: bool
    """True when this cycle changed the announced verdict."""
    document: dict[str, Any]
    """The whole recommendation in the shape `turnout advise --json` prints (stable keys)."""
    inputs: dict[str, Any]
    """What it was computed from: comparison ids, policy, prices, scorer."""
    updated_at: IsoDatetime
