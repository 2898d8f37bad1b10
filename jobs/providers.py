"""Turning a stored model declaration into a provider that can be called."""

from __future__ import annotations

import os

from evals.cost import CostModel
from evals.errors import TurnoutError
from evals.limits.model import ModelLimits
from evals.models import ModelSpec
from evals.providers.base import Provider
from evals.providers.openai_chat import OpenAIChatProvider


class ProviderUnavailable(TurnoutError):
    """The model cannot be called from here (missing key, kind not served by this worker)."""


def provider_for(spec: ModelSpec, *, limits: ModelLimits | None = None, cost: CostModel | None = None) -> Provider:
    """A provider for *spec*, with its API key read from the environment variable the spec names.

    Args:
        spec: The model.
        limits: Its rate limits and adaptive concurrency, shared with other runs of the model.
        cost: Its prices (default: looked up from the spec).
    """
    if spec.kind != "openai":
        raise ProviderUnavailable(f"model '{spec.name}' has kind '{spec.kind}', which is not served over HTTP; "
                                  "`kind: vllm` runs on GPU workers, `kind: sim` is not available yet")
    if spec.base_url is None:
        raise ProviderUnavailable(f"model '{spec.name}' has no base_url")
    api_key = None
    if spec.api_key_env:
        api_key = os.environ.get(spec.api_key_env)
        if not api_key:
            raise ProviderUnavailable(f"model '{spec.name}' reads its API key from ${spec.api_key_env}, "
                                      "which is not set in this process's environment")
    return OpenAIChatProvider(spec, api_key=api_key, limits=limits, cost=cost)
