"""vLLM's errors and the values its offline API takes and returns, with vLLM's names and defaults.

Part of the vLLM stand-in (`tests.peers.vllm_standin`, whose docstring says where each behaviour was
read in vLLM's source): the error hierarchy of `vllm/exceptions.py` (vLLM >= 0.27), `SamplingParams`
and `LoRARequest` with vLLM's keyword names (others are refused, as vLLM does), and the outputs of
`LLM.chat` with V1's (`RequestStateStats`) or V0's (`RequestMetrics`) per-request metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class VLLMError(Exception):
    """vLLM's base error (`vllm/exceptions.py`)."""


class VLLMClientError(VLLMError):
    """An error caused by the request (vLLM's entrypoints answer it with a 4xx)."""


class VLLMServerError(VLLMError):
    """An error caused by the engine (5xx)."""


class VLLMValidationError(VLLMClientError):
    """A request vLLM refuses to run; `str()` names the parameter and the value, as vLLM's does."""

    def __init__(self, message: str, *, parameter: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.value = value

    def __str__(self) -> str:
        extras = [f"{name}={v}" for name, v in (("parameter", self.parameter), ("value", self.value)) if v is not None]
        base = super().__str__()
        return f"{base} ({', '.join(extras)})" if extras else base


@dataclass(kw_only=True)
class SamplingParams:
    """vLLM's `SamplingParams` (the fields Turnout may set; vLLM's defaults)."""

    n: int = 1
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    seed: int | None = None
    stop: str | list[str] | None = None
    stop_token_ids: list[int] | None = None
    ignore_eos: bool = False
    max_tokens: int | None = 16
    min_tokens: int = 0
    skip_special_tokens: bool = True
    spaces_between_special_tokens: bool = True
    include_stop_str_in_output: bool = False
    bad_words: list[str] | None = None
    logit_bias: dict[int, float] | None = None
    allowed_token_ids: list[int] | None = None


@dataclass
class LoRARequest:
    """vLLM's `LoRARequest`."""

    lora_name: str
    lora_int_id: int
    lora_path: str = ""


@dataclass
class CompletionOutput:
    """vLLM's `CompletionOutput`."""

    index: int
    text: str
    token_ids: Sequence[int]
    cumulative_logprob: float | None
    logprobs: Any
    finish_reason: str | None = None
    stop_reason: int | str | None = None
    lora_request: LoRARequest | None = None


@dataclass
class RequestStateStats:
    """vLLM V1's per-request stats (`RequestOutput.metrics` when stats are on)."""

    num_generation_tokens: int = 0
    arrival_time: float = 0.0
    queued_ts: float = 0.0
    scheduled_ts: float = 0.0
    first_token_ts: float = 0.0
    last_token_ts: float = 0.0
    first_token_latency: float = 0.0
    is_corrupted: bool = False


@dataclass
class RequestMetrics:
    """vLLM V0's per-request metrics (all wall-clock)."""

    arrival_time: float
    last_token_time: float
    first_scheduled_time: float | None
    first_token_time: float | None
    time_in_queue: float | None
    finished_time: float | None = None


@dataclass
class RequestOutput:
    """vLLM's `RequestOutput`."""

    request_id: str
    prompt: str | None
    prompt_token_ids: list[int] | None
    prompt_logprobs: Any
    outputs: list[CompletionOutput]
    finished: bool
    metrics: RequestStateStats | RequestMetrics | None = None
    lora_request: LoRARequest | None = None
    num_cached_tokens: int | None = None
