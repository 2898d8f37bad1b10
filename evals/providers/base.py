"""What replay needs from a model: one request at a time (`Provider`), or many in one call (`BatchProvider`).

Both take `Request`s, which carry the case itself beside the rendered messages, so a provider
that answers from the case rather than from the prompt is one more provider and not a branch of
the pipeline. A simulated model (`kind: sim`), for instance, is a `BatchProvider` whose
`complete_batch` answers `request.case.expected` with a per-segment probability (looked up from
`request.case.tags`) and a wrong answer otherwise; `evals.replay.replay` prices, budgets and
batches its completions as it does a GPU's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeAlias, runtime_checkable

from evals.results import Completion, Request


class Provider(Protocol):
    """A model endpoint called once per request (over HTTP, with bounded concurrency).

    `complete` never raises for a per-case failure: retries happen inside, and the final
    error is returned as data on the Completion (DESIGN.md: a failing case is data).
    """

    async def complete(self, request: Request) -> Completion: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class BatchProvider(Protocol):
    """A model that answers many requests in one call: an in-process engine such as vLLM, or a simulator.

    `complete_batch` returns one Completion per request, in the requests' order, and never raises
    for a per-case failure (a failed batch is an error on every case). It may raise when the model
    cannot be run here at all (e.g. its engine is not installed). Replay measures the call's wall
    time as busy time; a provider leaves `cost_usd` empty unless it knows the price itself.
    """

    async def complete_batch(self, requests: Sequence[Request]) -> list[Completion]: ...

    async def aclose(self) -> None: ...


AnyProvider: TypeAlias = Provider | BatchProvider
"""What replay accepts: either kind of provider."""
