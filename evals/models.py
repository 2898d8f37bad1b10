"""How to call a model and what it costs: the `models:` entries of turnout.yaml."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ModelKind = Literal["openai", "vllm", "sim"]
Hosting = Literal["api", "self_hosted"]


class Pricing(BaseModel):
    """Prices. API models: per million tokens (default: the genai-prices table). Self-hosted: GPU-hours
    times measured busy time, plus a fixed monthly cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_per_mtok: float | None = Field(default=None, ge=0)
    """USD per million prompt tokens."""
    output_per_mtok: float | None = Field(default=None, ge=0)
    """USD per million completion tokens."""
    gpu_hour: float | None = Field(default=None, ge=0)
    """USD per GPU-hour (self-hosted)."""
    gpus: int | None = Field(default=None, ge=1)
    """GPUs one replica uses (self-hosted)."""
    fixed_monthly: float | None = Field(default=None, ge=0)
    """Fixed USD per month (self-hosted)."""
    capacity_rps: float | None = Field(default=None, gt=0)
    """Requests per second one replica serves (self-hosted): what the advisor counts GPUs with, and what
    prices GPU time before it is spent, so a budget can refuse a batch. Without it, the throughput measured
    in the run (a lower bound) serves both."""

    def cost_usd(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        """Token cost of one call, or None when this model has no token prices."""
        if self.input_per_mtok is None and self.output_per_mtok is None:
            return None
        cost = (input_tokens or 0) * (self.input_per_mtok or 0.0)
        cost += (output_tokens or 0) * (self.output_per_mtok or 0.0)
        return cost / 1_000_000


class ModelSpec(BaseModel):
    """One model endpoint as declared in turnout.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    """Turnout's name for it, referenced by watches."""
    kind: ModelKind = "openai"
    """`openai`: any OpenAI-compatible endpoint; `vllm`: in-process on a GPU worker; `sim`: simulated."""
    base_url: str | None = None
    """The endpoint, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`."""
    model: str = Field(min_length=1)
    """The model name sent to the endpoint."""
    api_key_env: str | None = None
    """The name of the environment variable that holds the key; the key itself is never stored."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Sampling parameters sent with every request (temperature, max_tokens, ...)."""
    max_concurrency: int = Field(default=8, ge=1, le=1024)
    """Most requests in flight at once; adaptive concurrency cuts below it on 429s and grows back."""
    rpm: int | None = Field(default=None, ge=1)
    """Requests per minute, shared by every run of this model (through Redis across workers)."""
    tpm: int | None = Field(default=None, ge=1)
    """Tokens per minute (prompt estimate + max_tokens before a call, corrected with real usage)."""
    timeout_s: float = Field(default=60.0, gt=0)
    """Per-request timeout."""
    max_retries: int = Field(default=3, ge=0, le=20)
    """Retries of a retryable failure (429, 5xx, timeout, connection) before the case is stored as failed."""
    stream: bool = True
    """Stream responses, which gives time to first token."""
    hosting: Hosting = "api"
    """`api`: the data leaves to a provider; `self_hosted`: it stays on the team's machines."""
    residency: str | None = None
    """Where the data is processed (e.g. `us`, `eu`); privacy policies may allow some residencies."""
    context_window: int | None = Field(default=None, ge=1)
    """Most tokens (prompt + completion) the model accepts; longer inputs fail as `context_length`."""
    latency_p95_ms: float | None = Field(default=None, gt=0)
    """The deployment's declared serving p95 latency, ms: checked against the SLO instead of the
    replay's times for `kind: vllm`, whose one-batch replay measures queueing, not serving."""
    pricing: Pricing = Field(default_factory=Pricing)
    options: dict[str, Any] = Field(default_factory=dict)
    """Kind-specific settings (vLLM engine arguments, simulator behaviour) for later kinds."""

    @property
    def simulated(self) -> bool:
        """True for a simulated model (`kind: sim`), which every output labels as such."""
        return self.kind == "sim"

    @property
    def display_name(self) -> str:
        """The name as outputs show it: `name (simulated)` for a simulated model."""
        return display_name(self.name, simulated=self.simulated)


def display_name(name: str, *, simulated: bool) -> str:
    """*name*, labelled `(simulated)` when it is a simulated model (`kind: sim`)."""
    return f"{name} (simulated)" if simulated else name
