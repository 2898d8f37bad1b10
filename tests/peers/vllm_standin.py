"""A stand-in for vLLM's offline engine, for machines without a GPU (vLLM cannot be installed here).

It is a test peer, not the unit under test: `FakeLLM.chat` has the signature of `vllm.LLM.chat`
and returns objects with the attribute names of vLLM's `RequestOutput` / `CompletionOutput` and of
its per-request metrics, either V1's `RequestStateStats` (engine-core stamps on a monotonic clock,
`first_token_latency`) or V0's `RequestMetrics` (wall-clock stamps). `SamplingParams` and
`LoRARequest` take vLLM's keyword names and refuse others, as vLLM does.

Behaviour copied from vLLM: without `sampling_params` at most 16 tokens are generated; a prompt
longer than `max_model_len` fails the whole call with `ValueError`; a `lora_request` on an engine
built without `enable_lora` fails too; outputs come back in the conversations' order.
The "model" answers `xyz` when the last user message has a line `ANSWER: xyz`, else echoes it;
a token is a whitespace-separated word.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

MetricsShape = Literal["v1", "v0", "none"]

_ANSWER_LINE = re.compile(r"^ANSWER:\s*(.*?)\s*$", re.MULTILINE)
_TOKEN = re.compile(r"\S+\s*")
WALL_EPOCH = 1_750_000_000.0
"""Wall-clock stamps (`arrival_time`) start here; V1's monotonic stamps start near 0, so a mapping
that mixed the two clocks would produce absurd latencies."""
MONOTONIC_BASE = 5_000.0
TTFT_S = 0.020
"""Each request's first token arrives this long after the previous request's (in order of arrival)."""
TOKEN_S = 0.002
"""Decode time per generated token."""


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


def standin_answer(conversation: list[dict[str, Any]]) -> str:
    """`xyz` when the last user message has a line `ANSWER: xyz`, else that message echoed."""
    text = next((str(m.get("content", "")) for m in reversed(conversation) if m.get("role") == "user"), "")
    found = _ANSWER_LINE.search(text)
    return found.group(1) if found else text


def render(conversation: list[dict[str, Any]]) -> str:
    """A chat template: one `<|role|> content` line per message, then the assistant's turn."""
    return "".join(f"<|{m['role']}|> {m['content']}\n" for m in conversation) + "<|assistant|>"


@dataclass
class ChatCall:
    """One recorded `FakeLLM.chat` call."""

    messages: list[list[dict[str, Any]]]
    sampling_params: SamplingParams | None
    use_tqdm: bool
    lora_request: LoRARequest | None


class FakeLLM:
    """`vllm.LLM` for tests: records its engine arguments and every `chat` call."""

    def __init__(self, model: str, *, tensor_parallel_size: int = 1, dtype: str = "auto",
                 max_model_len: int | None = None, gpu_memory_utilization: float = 0.9,
                 enable_lora: bool = False, metrics: MetricsShape = "v1",
                 answer: Callable[[list[dict[str, Any]]], str] = standin_answer,
                 fail_with: BaseException | None = None, **engine_kwargs: Any) -> None:
        self.model = model
        self.engine_args: dict[str, Any] = {
            "model": model, "tensor_parallel_size": tensor_parallel_size, "dtype": dtype,
            "max_model_len": max_model_len, "gpu_memory_utilization": gpu_memory_utilization,
            "enable_lora": enable_lora, **engine_kwargs}
        self.metrics_shape: MetricsShape = metrics
        self.answer = answer
        self.fail_with = fail_with
        """When set, the next `chat` call raises it (as a dead engine or CUDA OOM would)."""
        self.calls: list[ChatCall] = []
        self._vocab: dict[str, int] = {}
        self._request_counter = 0

    def _tokens(self, text: str) -> list[int]:
        return [self._vocab.setdefault(word.strip(), len(self._vocab) + 1) for word in _TOKEN.findall(text)]

    def chat(self, messages: list[dict[str, Any]] | list[list[dict[str, Any]]],
             sampling_params: SamplingParams | list[SamplingParams] | None = None,
             use_tqdm: bool | Callable[..., Any] = True, lora_request: LoRARequest | None = None,
             chat_template: str | None = None, chat_template_content_format: str = "auto",
             add_generation_prompt: bool = True, continue_final_message: bool = False,
             tools: list[dict[str, Any]] | None = None, chat_template_kwargs: dict[str, Any] | None = None,
             mm_processor_kwargs: dict[str, Any] | None = None) -> list[RequestOutput]:
        """Answer every conversation, in order, like `vllm.LLM.chat`."""
        conversations: list[list[dict[str, Any]]] = (
            messages if messages and isinstance(messages[0], list) else [messages])  # type: ignore[list-item]
        params = sampling_params if isinstance(sampling_params, SamplingParams) else SamplingParams()
        self.calls.append(ChatCall([list(c) for c in conversations], params if sampling_params else None,
                                   bool(use_tqdm), lora_request))
        if self.fail_with is not None:
            exc, self.fail_with = self.fail_with, None
            raise exc
        if lora_request is not None and not self.engine_args["enable_lora"]:
            raise ValueError(f"LoRA is not enabled! lora_request {lora_request}")
        prompts = [self._tokens(render(c)) for c in conversations]
        limit = self.engine_args["max_model_len"]
        for ids in prompts:
            if limit is not None and len(ids) > limit:
                raise ValueError(f"The decoder prompt (length {len(ids)}) is longer than the maximum model "
                                 f"length of {limit}. Make sure that `max_model_len` is no smaller than the "
                                 "number of text tokens.")
        return [self._output(i, c, ids, params, lora_request) for i, (c, ids) in enumerate(zip(conversations, prompts))]

    def _output(self, index: int, conversation: list[dict[str, Any]], prompt_ids: list[int],
                params: SamplingParams, lora: LoRARequest | None) -> RequestOutput:
        text = self.answer(conversation)
        finish = "stop"
        stops = [params.stop] if isinstance(params.stop, str) else list(params.stop or [])
        for stop in stops:
            if stop in text:
                text = text[:text.index(stop)]
        words = _TOKEN.findall(text)
        if params.max_tokens is not None and len(words) > params.max_tokens:
            words, finish = words[:params.max_tokens], "length"
        text = "".join(words)
        token_ids = self._tokens(text)
        ttft = TTFT_S * (index + 1)
        decode = TOKEN_S * max(len(token_ids) - 1, 0)
        metrics: RequestStateStats | RequestMetrics | None = None
        if self.metrics_shape == "v1":
            first_ts = MONOTONIC_BASE + ttft
            metrics = RequestStateStats(num_generation_tokens=len(token_ids), arrival_time=WALL_EPOCH,
                                        queued_ts=MONOTONIC_BASE, scheduled_ts=MONOTONIC_BASE + 0.001,
                                        first_token_ts=first_ts, last_token_ts=first_ts + decode,
                                        first_token_latency=ttft)
        elif self.metrics_shape == "v0":
            metrics = RequestMetrics(arrival_time=WALL_EPOCH, first_scheduled_time=WALL_EPOCH + 0.001,
                                     first_token_time=WALL_EPOCH + ttft, last_token_time=WALL_EPOCH + ttft + decode,
                                     time_in_queue=0.001, finished_time=WALL_EPOCH + ttft + decode)
        self._request_counter += 1
        return RequestOutput(
            request_id=str(self._request_counter), prompt=None, prompt_token_ids=prompt_ids, prompt_logprobs=None,
            outputs=[CompletionOutput(index=0, text=text, token_ids=token_ids, cumulative_logprob=None,
                                      logprobs=None, finish_reason=finish, lora_request=lora)],
            finished=True, metrics=metrics, lora_request=lora)


@dataclass
class FakeVllm:
    """The three constructors a GPU worker takes from vLLM, with every engine it built recorded."""

    engine_options: dict[str, Any] = field(default_factory=dict)
    """Stand-in behaviour given to every engine built (`metrics`, `answer`, `fail_with`)."""
    engines: list[FakeLLM] = field(default_factory=list)

    def llm(self, model: str, **kwargs: Any) -> FakeLLM:
        """`vllm.LLM(model=..., **engine_args)`."""
        engine = FakeLLM(model, **kwargs, **self.engine_options)
        self.engines.append(engine)
        return engine

    sampling_params = SamplingParams
    lora_request = LoRARequest
