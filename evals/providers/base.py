"""What replay needs from a model: send one request, get one Completion back."""

from __future__ import annotations

from typing import Protocol

from evals.results import Completion, Request


class Provider(Protocol):
    """A model endpoint.

    `complete` never raises for a per-case failure: retries happen inside, and the final
    error is returned as data on the Completion (DESIGN.md: a failing case is data).
    """

    async def complete(self, request: Request) -> Completion: ...

    async def aclose(self) -> None: ...
