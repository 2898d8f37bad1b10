"""Turning a stored model declaration into a provider that can be called: the one place that picks
a provider by the model's kind (`evals.replay.replay` drives either)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from evals.cost import CostModel
from evals.errors import TurnoutError
from evals.limits.model import ModelLimits
from evals.models import ModelSpec
from evals.providers.base import AnyProvider
from evals.providers.openai_chat import OpenAIChatProvider
from evals.providers.sim import SimProvider


class ProviderUnavailable(TurnoutError):
    """The model cannot be called from here (missing key, kind not served by this worker)."""


def provider_for(spec: ModelSpec, *, limits: ModelLimits | None = None,
                 cost: CostModel | None = None, cycle: int | None = None, at: datetime | None = None) -> AnyProvider:
    """A provider for *spec*: over HTTP for `kind: openai` (its API key read from the environment
    variable the spec names), a batch on this worker's GPU for `kind: vllm`, a simulated model
    answering from `Request.case` for `kind: sim` (on any worker).

    Args:
        spec: The model.
        limits: Its rate limits and adaptive concurrency, shared with other runs of the model (HTTP only).
        cost: Its prices (default: looked up from the spec); replay prices a batch's GPU time itself.
        cycle: The cycle the provider answers for (a sampled simulated model draws anew each cycle).
        at: The cycle's time (its slot, else its creation): a simulated model answers as it was then, so a
            re-delivered replay gives the same answers however late it runs.

    Raises:
        ProviderUnavailable: The model cannot be called from here (no base_url, key not set, unknown kind).
    """
    if spec.kind == "vllm":
        from jobs.gpu import VllmProvider  # here, not at the top: jobs.gpu imports ProviderUnavailable

        return VllmProvider(spec)  # vLLM itself is imported on the first batch, on a GPU worker
    if spec.kind == "sim":
        moment = None if at is None else at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        return SimProvider(spec, cost=cost, cycle=cycle, now=None if moment is None else (lambda: moment))
    if spec.kind != "openai":
        raise ProviderUnavailable(f"model '{spec.name}' has kind '{spec.kind}', which this worker cannot serve")
    if spec.base_url is None:
        raise ProviderUnavailable(f"model '{spec.name}' has no base_url")
    api_key = None
    if spec.api_key_env:
        api_key = os.environ.get(spec.api_key_env)
        if not api_key:
            raise ProviderUnavailable(f"model '{spec.name}' reads its API key from ${spec.api_key_env}, "
                                      "which is not set in this process's environment")
    return OpenAIChatProvider(spec, api_key=api_key, limits=limits, cost=cost)
