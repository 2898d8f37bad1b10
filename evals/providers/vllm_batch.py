"""A `kind: vllm` model as plain values: what to hand vLLM's `LLM` and how to read what it returns.

Pure mapping, no vLLM import: `jobs.gpu` turns these values into `vllm.LLM(**engine_args(spec))`,
`SamplingParams(**call.sampling)` and `LoRARequest(...)`, makes the one batched `LLM.chat` call,
and hands the `RequestOutput`s back to `to_completions`. The attribute names read here are vLLM's
(`RequestOutput.prompt_token_ids`, `.outputs[0].text/.token_ids/.finish_reason`, `.metrics`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from evals.errors import ConfigError
from evals.models import ModelSpec
from evals.results import Completion, ErrorKind, Request

DEFAULT_MAX_TOKENS = 256
"""Sent when the model's params name none: vLLM's own default (16 tokens) cuts most answers short."""

MAX_ERROR_CHARS = 2000
"""A batch error is stored on every case of the run; a traceback-sized message is trimmed to this."""

SAMPLING_KEYS: frozenset[str] = frozenset({
    "temperature", "top_p", "top_k", "min_p", "seed", "stop", "stop_token_ids", "max_tokens", "min_tokens",
    "presence_penalty", "frequency_penalty", "repetition_penalty", "ignore_eos", "skip_special_tokens",
    "spaces_between_special_tokens", "include_stop_str_in_output", "bad_words", "logit_bias",
    "allowed_token_ids", "n",
})
"""`params:` keys passed to `vllm.SamplingParams`; anything else is refused with a message naming it."""

SAMPLING_ALIASES: dict[str, str] = {"max_completion_tokens": "max_tokens"}
"""OpenAI spellings accepted for a vLLM model, so one params block fits both kinds."""

TURNOUT_OPTIONS: frozenset[str] = frozenset({"lora"})
"""`options:` keys Turnout reads itself; every other option is a `vllm.LLM` engine argument."""

ENGINE_DEFAULTS: dict[str, Any] = {"disable_log_stats": False}
"""`LLM` turns stats off by default, and vLLM V1 then returns no per-request `metrics`: without
them latency and time to first token could only be estimated from the batch's wall time."""

Timing = Literal["per_request", "amortized"]


@dataclass(frozen=True)
class LoraAdapter:
    """A LoRA adapter applied on top of the base model (`options.lora`)."""

    name: str
    """The adapter's name, also stored as the completions' `served_model` (as `vllm serve` reports it)."""
    path: str
    """A local directory or a Hugging Face repo id holding the adapter weights."""


@dataclass(frozen=True)
class ChatCall:
    """The arguments of one `LLM.chat` call covering a whole run."""

    messages: list[list[dict[str, str]]]
    """One conversation per request, in the requests' order (vLLM answers in the same order)."""
    sampling: dict[str, Any]
    """Keyword arguments of `vllm.SamplingParams`; `max_tokens` is always set."""
    lora: LoraAdapter | None
    """The adapter to pass as `lora_request`, or None for the base model."""


@dataclass(frozen=True)
class MappedBatch:
    """Completions of one batch, and how their timing was obtained."""

    completions: list[Completion]
    timing: Timing
    """`per_request`: from vLLM's per-request metrics. `amortized`: vLLM sent no metrics for at least
    one request, whose latency is then the batch's wall time divided by its size (time to first
    token unknown): a throughput figure, not a latency a user would see."""


class CompletionOutputLike(Protocol):
    """What is read from `vllm.CompletionOutput`."""

    @property
    def text(self) -> str: ...

    @property
    def token_ids(self) -> Sequence[int]: ...

    @property
    def finish_reason(self) -> str | None: ...


class RequestOutputLike(Protocol):
    """What is read from `vllm.RequestOutput` (`metrics` differs between vLLM versions; see `request_timing`)."""

    @property
    def prompt_token_ids(self) -> Sequence[int] | None: ...

    @property
    def outputs(self) -> Sequence[CompletionOutputLike]: ...

    @property
    def metrics(self) -> object: ...


def sampling_args(spec: ModelSpec) -> dict[str, Any]:
    """`vllm.SamplingParams` keyword arguments from the model's `params:`.

    Args:
        spec: A `kind: vllm` model.

    Returns:
        The arguments, with `max_tokens` always present (`DEFAULT_MAX_TOKENS` when not declared).

    Raises:
        ConfigError: A key vLLM would not take, `n` other than 1, or a bad `max_tokens`.
    """
    args: dict[str, Any] = {}
    for key, value in spec.params.items():
        name = SAMPLING_ALIASES.get(key, key)
        if name not in SAMPLING_KEYS:
            raise ConfigError(f"model '{spec.name}' (kind: vllm) has sampling param '{key}', which "
                              f"vLLM's SamplingParams does not take; use one of {', '.join(sorted(SAMPLING_KEYS))}",
                              field=f"params.{key}")
        args[name] = value
    if args.pop("n", 1) != 1:
        raise ConfigError(f"model '{spec.name}': params.n must be 1; each case answer is one completion, "
                          "ask for several answers per case with the golden set's `repeat: k`",
                          field="params.n")
    max_tokens = args.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise ConfigError(f"model '{spec.name}': params.max_tokens must be a positive integer, not {max_tokens!r}",
                          field="params.max_tokens")
    return args


def lora_adapter(spec: ModelSpec) -> LoraAdapter | None:
    """The LoRA adapter `options.lora: {name, path}` names, or None.

    Raises:
        ConfigError: `options.lora` is not a mapping with non-empty string `name` and `path`.
    """
    raw = spec.options.get("lora")
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"name", "path"}:
        raise ConfigError(f"model '{spec.name}': options.lora must be {{name: ..., path: ...}}, not {raw!r}",
                          field="options.lora")
    name, path = raw["name"], raw["path"]
    if not (isinstance(name, str) and name and isinstance(path, str) and path):
        raise ConfigError(f"model '{spec.name}': options.lora name and path must be non-empty strings",
                          field="options.lora")
    return LoraAdapter(name=name, path=path)


def engine_args(spec: ModelSpec) -> dict[str, Any]:
    """`vllm.LLM` keyword arguments: `model`, the `options:` engine arguments (dtype,
    tensor_parallel_size, max_model_len, gpu_memory_utilization, ...), `max_model_len` from
    `context_window` when not given, `enable_lora` when an adapter is named, stats on.

    Raises:
        ConfigError: The spec is not `kind: vllm`, or its options are malformed.
    """
    if spec.kind != "vllm":
        raise ConfigError(f"model '{spec.name}' has kind '{spec.kind}', not vllm", field="kind")
    if "model" in spec.options:
        raise ConfigError(f"model '{spec.name}': the model path goes in `model:`, not options.model",
                          field="options.model")
    args: dict[str, Any] = {"model": spec.model, **ENGINE_DEFAULTS}
    args.update({key: value for key, value in spec.options.items() if key not in TURNOUT_OPTIONS})
    if "max_model_len" not in args and spec.context_window is not None:
        args["max_model_len"] = spec.context_window
    if lora_adapter(spec) is not None:
        args["enable_lora"] = True
    tp = args.get("tensor_parallel_size", 1)
    if not isinstance(tp, int) or isinstance(tp, bool) or tp < 1:
        raise ConfigError(f"model '{spec.name}': options.tensor_parallel_size must be an integer >= 1",
                          field="options.tensor_parallel_size")
    util = args.get("gpu_memory_utilization", 0.9)
    if not isinstance(util, (int, float)) or isinstance(util, bool) or not 0 < util <= 1:
        raise ConfigError(f"model '{spec.name}': options.gpu_memory_utilization must be in (0, 1]",
                          field="options.gpu_memory_utilization")
    return args


def engine_key(args: dict[str, Any]) -> str:
    """A stable identity for engine arguments: runs whose keys are equal share one loaded engine."""
    return json.dumps(args, sort_keys=True, default=repr)


def build_chat_call(spec: ModelSpec, requests: Sequence[Request]) -> ChatCall:
    """The one `LLM.chat` call that answers every request of a run.

    Args:
        spec: A `kind: vllm` model.
        requests: The run's requests still to answer, in any order.

    Returns:
        Conversations in the requests' order, sampling arguments and the LoRA adapter.

    Raises:
        ConfigError: The model's params or options cannot be given to vLLM.
    """
    return ChatCall(
        messages=[[dict(message) for message in request.messages] for request in requests],
        sampling=sampling_args(spec),
        lora=lora_adapter(spec),
    )


def served_model(spec: ModelSpec) -> str:
    """The name stored as `served_model`: the adapter's when one is applied, else the model's."""
    adapter = lora_adapter(spec)
    return adapter.name if adapter is not None else spec.model


def _seconds(metrics: object, name: str) -> float | None:
    value = getattr(metrics, name, None)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def request_timing(metrics: object) -> tuple[float | None, float | None]:
    """Latency and time to first token, in milliseconds, from a `RequestOutput.metrics`.

    vLLM V1 (`RequestStateStats`): `first_token_latency` is the time to first token; its
    `*_ts` stamps are on the engine core's monotonic clock, so latency adds the decode span
    `last_token_ts - first_token_ts` rather than subtracting the wall-clock `arrival_time`.
    Older engines (`RequestMetrics`, early V1): `arrival_time`, `first_token_time` and
    `last_token_time` share one wall clock. Unset stamps are 0 or None and give None.

    Returns:
        `(latency_ms, ttft_ms)`, each None when the metrics do not say.
    """
    if metrics is None:
        return None, None
    ttft_s = _seconds(metrics, "first_token_latency")
    if ttft_s is not None:
        first, last = _seconds(metrics, "first_token_ts"), _seconds(metrics, "last_token_ts")
        latency_s = ttft_s + (last - first) if first is not None and last is not None and last >= first else None
        return (latency_s * 1000 if latency_s is not None else None), ttft_s * 1000
    arrival = _seconds(metrics, "arrival_time")
    if arrival is None:
        return None, None
    first, last = _seconds(metrics, "first_token_time"), _seconds(metrics, "last_token_time")
    latency_ms = (last - arrival) * 1000 if last is not None and last >= arrival else None
    ttft_ms = (first - arrival) * 1000 if first is not None and first >= arrival else None
    return latency_ms, ttft_ms


def _failed(request: Request, error: str, kind: ErrorKind, model: str) -> Completion:
    return Completion(case_id=request.case_id, repetition=request.repetition, error=error[:MAX_ERROR_CHARS],
                      error_kind=kind, served_model=model)


def to_completions(requests: Sequence[Request], outputs: Sequence[RequestOutputLike], *, served_model: str,
                   wall_s: float) -> MappedBatch:
    """Map vLLM's answers (in the requests' order) to Completions.

    Tokens come from `prompt_token_ids` and `outputs[0].token_ids` (exact, never estimated); timing
    from each request's metrics, else the batch wall time divided by its size (`timing="amortized"`).
    An aborted request, or one with no output, is stored as a per-case error. Cost is None: a
    self-hosted model's cost is computed from GPU-hours, not per call.

    Args:
        requests: The requests sent, in the order their conversations were passed to `LLM.chat`.
        outputs: What `LLM.chat` returned.
        served_model: The name stored with every completion (see `served_model`).
        wall_s: Seconds the whole `LLM.chat` call took.

    Returns:
        One completion per request, in the requests' order.
    """
    if len(outputs) != len(requests):
        error = f"vLLM returned {len(outputs)} outputs for {len(requests)} conversations"
        return MappedBatch([_failed(r, error, "bad_response", served_model) for r in requests], "per_request")
    amortized_ms = wall_s * 1000 / len(requests) if requests else 0.0
    timing: Timing = "per_request"
    completions = []
    for request, result in zip(requests, outputs, strict=True):
        if not result.outputs:
            completions.append(_failed(request, "vLLM returned no completion for this conversation",
                                       "bad_response", served_model))
            continue
        answer = result.outputs[0]
        if answer.finish_reason in ("abort", "error"):
            completions.append(_failed(request, f"vLLM ended the request with finish_reason '{answer.finish_reason}'",
                                       "server", served_model))
            continue
        latency_ms, ttft_ms = request_timing(result.metrics)
        if latency_ms is None:
            latency_ms, timing = amortized_ms, "amortized"
        prompt_ids = result.prompt_token_ids
        completions.append(Completion(
            case_id=request.case_id, repetition=request.repetition, output=answer.text,
            latency_ms=latency_ms, ttft_ms=ttft_ms,
            input_tokens=len(prompt_ids) if prompt_ids is not None else None,
            output_tokens=len(answer.token_ids), finish_reason=answer.finish_reason,
            cost_usd=None, served_model=served_model,
        ))
    return MappedBatch(completions, timing)


def fits_context(prompt_tokens: int, max_model_len: int) -> bool:
    """Whether vLLM's `LLM.chat` will run a prompt of this many tokens (chat template applied).

    `LLM.chat` checks the prompt alone against `max_model_len` (it reserves no room for `max_tokens`:
    generation stops at the window with finish_reason `length`), and its input processor refuses a
    prompt that fills the window, since every request generates at least one token.
    """
    return prompt_tokens < max_model_len


def context_length_failure(request: Request, *, prompt_tokens: int, max_model_len: int,
                           served_model: str) -> Completion:
    """The completion stored for a case whose prompt does not fit the engine's context window."""
    error = (f"the prompt is {prompt_tokens} tokens (chat template applied) and the engine's max_model_len is "
             f"{max_model_len}: vLLM runs prompts of at most {max_model_len - 1} tokens (one is left for the "
             "answer); shorten the case, or raise options.max_model_len (or context_window) if the model allows")
    return _failed(request, error, "context_length", served_model)


def failed_batch(requests: Sequence[Request], exc: BaseException, *, served_model: str,
                 client_errors: tuple[type[BaseException], ...] = (ValueError,)) -> list[Completion]:
    """Every request of a batch whose `LLM.chat` call raised, with the error stored as data.

    Args:
        requests: The requests of the failed call.
        exc: What the call raised.
        served_model: The name stored with every completion.
        client_errors: vLLM's classes for an error caused by the request: `VLLMClientError` since
            vLLM 0.27 (its `VLLMValidationError` covers a prompt over `max_model_len`); `ValueError`
            for older vLLM, which raised that for bad input. Those are `bad_request`; anything else
            (CUDA out of memory, a dead engine) is `server`.

    Returns:
        One failed completion per request, in the requests' order.
    """
    kind: ErrorKind = "bad_request" if isinstance(exc, client_errors) else "server"
    error = f"vLLM batch failed: {type(exc).__name__}: {exc}"
    return [_failed(request, error, kind, served_model) for request in requests]
