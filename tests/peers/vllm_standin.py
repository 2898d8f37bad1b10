"""A stand-in for vLLM's offline engine, for machines without a GPU (vLLM cannot be installed here).

It is a test peer, not the unit under test: `FakeLLM.chat` has the signature of `vllm.LLM.chat`
and returns objects with the attribute names of vLLM's `RequestOutput` / `CompletionOutput` and of
its per-request metrics, either V1's `RequestStateStats` (engine-core stamps on a monotonic clock,
`first_token_latency`) or V0's `RequestMetrics` (wall-clock stamps). `SamplingParams` and
`LoRARequest` take vLLM's keyword names and refuse others, as vLLM does.

Behaviour taken from vLLM's source (vllm-project/vllm, read through the search index):
- Errors (`vllm/exceptions.py`, after PR #49665 of 2026-07, the hierarchy of vLLM >= 0.27):
  `VLLMError(Exception)` splits into `VLLMClientError` (the request's fault, HTTP 4xx) and
  `VLLMServerError` (5xx); `VLLMValidationError(VLLMClientError)` takes `parameter=` and `value=`
  and appends ` (parameter=..., value=...)` to its message.
- `LLM.chat` (`vllm/entrypoints/llm.py`, commit 10fdb8f0): renders each conversation with the
  tokenizer's chat template (`tokenize=False`), then encodes it with `add_special_tokens=False`,
  under `TokenizeParams(max_total_tokens=model_config.max_model_len)` with no output budget: the
  prompt alone is checked against `max_model_len`, and encoding stops at `max_model_len + 1` tokens.
- A prompt over `max_model_len` (`vllm/renderers/params.py`, `_token_len_check`, wording of
  v0.24-v0.30 as quoted by users of those versions): `VLLMValidationError("This model's maximum
  context length is N tokens. However, you requested 0 output tokens and your prompt contains at
  least P input tokens, ...", parameter="input_tokens", value=P)`. A prompt of exactly
  `max_model_len` tokens leaves no room for the one token every request generates and is refused
  by the input processor (`vllm/v1/engine/input_processor.py`): "The decoder prompt (length N) plus
  the number of requested output tokens (at least 1) is longer than the maximum model length of N".
  Either error fails the whole `chat` call: no request of the batch is answered.
- `LLM.get_tokenizer()` returns the engine's tokenizer; `LLM.model_config.max_model_len` is always
  an int (derived from the model's config when not given); `LLM.llm_engine.engine_core` is the
  engine-core client whose `shutdown()` stops the engine core and frees its GPU memory.
- Without `sampling_params` at most 16 tokens are generated; a `lora_request` on an engine built
  without `enable_lora` is refused; outputs come back in the conversations' order.
The snapshot read is not tagged 0.33 (the index holds many versions of each file; the error
hierarchy and `LLM.chat` above are from 2026 revisions); where it differed by version, the newest
wording found was used.

vLLM's errors and value types are in `tests.peers.vllm_types`; the engine, its tokenizer and the
module `jobs.gpu` loads in place of vLLM are here.

The "model" answers `xyz` when the last user message has a line `ANSWER: xyz`, else echoes it;
a token is a whitespace-separated word.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.peers.vllm_types import (
    CompletionOutput,
    LoRARequest,
    RequestMetrics,
    RequestOutput,
    RequestStateStats,
    SamplingParams,
    VLLMClientError,
    VLLMValidationError,
)

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


DERIVED_MAX_MODEL_LEN = 8192
"""`max_model_len` when the engine arguments name none (vLLM reads it from the model's config)."""


class FakeTokenizer:
    """The Hugging Face tokenizer `LLM.get_tokenizer()` returns, for the two calls a chat prompt needs.

    The chat template writes one `<|role|> content` line per message, then the assistant's turn;
    a token is a whitespace-separated word (ids handed out in order of first sight).
    """

    def __init__(self) -> None:
        self._vocab: dict[str, int] = {}

    def apply_chat_template(self, conversation: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                            *, chat_template: str | None = None, add_generation_prompt: bool = False,
                            continue_final_message: bool = False, tokenize: bool = True,
                            return_dict: bool = False, **kwargs: Any) -> str | list[int]:
        """`PreTrainedTokenizerBase.apply_chat_template`: the rendered text, or its ids when `tokenize`."""
        if return_dict:
            raise NotImplementedError("the stand-in renders text or ids, not a BatchEncoding")
        text = "".join(f"<|{m['role']}|> {m['content']}\n" for m in conversation)
        if add_generation_prompt:
            text += "<|assistant|>"
        return self.encode(text, add_special_tokens=False) if tokenize else text

    def encode(self, text: str, truncation: bool | None = None, max_length: int | None = None,
               add_special_tokens: bool = True) -> list[int]:
        """`PreTrainedTokenizerBase.encode` (this vocabulary has no special tokens to add)."""
        ids = [self._vocab.setdefault(word.strip(), len(self._vocab) + 1) for word in _TOKEN.findall(text)]
        return ids[:max_length] if truncation and max_length is not None else ids


@dataclass
class ModelConfig:
    """vLLM's `ModelConfig`, the field read here."""

    max_model_len: int


class EngineCoreClient:
    """vLLM V1's engine-core client (`LLM.llm_engine.engine_core`); `shutdown()` is recorded."""

    def __init__(self, number: int, events: list[str]) -> None:
        self.number = number
        self.events = events
        self.is_shut_down = False

    def shutdown(self) -> None:
        """Stop the engine core (vLLM: its process exits and gives the GPU memory back)."""
        if not self.is_shut_down:
            self.events.append(f"shutdown {self.number}")
        self.is_shut_down = True


@dataclass
class LLMEngine:
    """vLLM V1's `LLMEngine`, the attributes read here."""

    engine_core: EngineCoreClient
    model_config: ModelConfig


def standin_answer(conversation: list[dict[str, Any]]) -> str:
    """`xyz` when the last user message has a line `ANSWER: xyz`, else that message echoed."""
    text = next((str(m.get("content", "")) for m in reversed(conversation) if m.get("role") == "user"), "")
    found = _ANSWER_LINE.search(text)
    return found.group(1) if found else text


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
                 fail_with: BaseException | None = None, number: int = 1, events: list[str] | None = None,
                 **engine_kwargs: Any) -> None:
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
        self.tokenizer = FakeTokenizer()
        self.model_config = ModelConfig(max_model_len=max_model_len or DERIVED_MAX_MODEL_LEN)
        self.llm_engine = LLMEngine(engine_core=EngineCoreClient(number, events if events is not None else []),
                                    model_config=self.model_config)
        self._request_counter = 0

    def get_tokenizer(self) -> FakeTokenizer:
        """`LLM.get_tokenizer()`."""
        return self.tokenizer

    def _tokens(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def _check_length(self, prompt_len: int) -> None:
        limit = self.model_config.max_model_len
        if prompt_len > limit:  # the renderer: encoding stopped at limit + 1, hence "at least"
            shown = limit + 1
            raise VLLMValidationError(
                f"This model's maximum context length is {limit} tokens. However, you requested 0 output tokens "
                f"and your prompt contains at least {shown} input tokens, for a total of at least {shown} tokens. "
                "Please reduce the length of the input prompt or the number of requested output tokens.",
                parameter="input_tokens", value=shown)
        if prompt_len == limit:  # the input processor: no room left for the first generated token
            raise VLLMValidationError(
                f"The decoder prompt (length {prompt_len}) plus the number of requested output tokens (at least 1) "
                f"is longer than the maximum model length of {limit}. Make sure that `max_model_len` is no smaller "
                "than the number of text tokens (prompt + requested output tokens).")

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
        if self.llm_engine.engine_core.is_shut_down:
            raise RuntimeError("the engine core was shut down")  # as vLLM's EngineDeadError would say
        if self.fail_with is not None:
            exc, self.fail_with = self.fail_with, None
            raise exc
        if lora_request is not None and not self.engine_args["enable_lora"]:
            raise VLLMValidationError(f"LoRA is not enabled! lora_request {lora_request}", parameter="lora_request")
        limit = self.model_config.max_model_len
        prompts = []
        for c in conversations:
            text = self.tokenizer.apply_chat_template(c, chat_template=chat_template, tokenize=False,
                                                      add_generation_prompt=add_generation_prompt)
            assert isinstance(text, str)
            ids = self.tokenizer.encode(text, truncation=True, max_length=limit + 1, add_special_tokens=False)
            self._check_length(len(ids))
            prompts.append(ids)
        return [self._output(i, c, ids, params, lora_request)
                for i, (c, ids) in enumerate(zip(conversations, prompts, strict=True))]

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
    retain: bool = True
    """Keep every engine built in `engines`; False keeps only weak references (`built`), so a test can
    see whether the code under test still holds an engine it unloaded."""
    engines: list[FakeLLM] = field(default_factory=list)
    built: list[weakref.ref[FakeLLM]] = field(default_factory=list)
    passed: list[dict[str, Any]] = field(default_factory=list)
    """The keyword arguments each `LLM(...)` call was given, exactly (no stand-in defaults)."""
    events: list[str] = field(default_factory=list)
    """`build N` and `shutdown N` (engine N's core shut down), in the order they happened."""
    alive_at_build: list[list[int]] = field(default_factory=list)
    """For each engine built, the numbers of the engines built before it that were still referenced."""

    def llm(self, model: str, **kwargs: Any) -> FakeLLM:
        """`vllm.LLM(model=..., **engine_args)`."""
        number = len(self.built) + 1
        self.alive_at_build.append(self.alive())
        self.events.append(f"build {number}")
        self.passed.append({"model": model, **kwargs})
        engine = FakeLLM(model, **kwargs, **self.engine_options, number=number, events=self.events)
        self.built.append(weakref.ref(engine))
        if self.retain:
            self.engines.append(engine)
        return engine

    def alive(self) -> list[int]:
        """Numbers of the engines built that something still references."""
        return [i for i, ref in enumerate(self.built, start=1) if ref() is not None]

    sampling_params = SamplingParams
    lora_request = LoRARequest
    client_errors: tuple[type[BaseException], ...] = (VLLMClientError,)
    """What `jobs.gpu.vllm_api` reads from `vllm.exceptions` on vLLM >= 0.27."""
