"""GPU workers: a `kind: vllm` model answered in-process by vLLM (DESIGN.md section 4).

The engine is loaded once per worker process and kept for the next run of the same engine
arguments; a whole run goes to the GPU as one `LLM.chat` call, which vLLM batches continuously.
`VllmProvider` is the model as a `BatchProvider` (`jobs.providers.provider_for` returns it), so
`evals.replay.replay` prices, budgets and stores its answers as it does an HTTP model's.
vLLM refuses the whole call when one prompt is longer than its context window, so prompts are
measured with the engine's own tokenizer first and an over-long case fails alone (`context_length`).
vLLM is imported only when an engine is first needed, so this module loads anywhere; tests pass a
stand-in `VllmApi` with vLLM's signatures (`tests/peers/vllm_standin.py`).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from evals.errors import ConfigError
from evals.models import ModelSpec
from evals.providers import vllm_batch
from evals.results import Completion, Request
from jobs.providers import ProviderUnavailable

log = logging.getLogger(__name__)

MAX_RESIDENT_ENGINES = 1
"""Engines kept loaded per process. A GPU worker owns one GPU and an engine reserves most of its
memory (`gpu_memory_utilization`, 0.9 by default), so a second engine would not fit beside the first:
a run with other engine arguments unloads the engine before loading its own."""


class GpuUnavailable(ProviderUnavailable):
    """This worker cannot run the `kind: vllm` model: vLLM missing, or params/options it cannot take."""


@dataclass(frozen=True)
class VllmApi:
    """The vLLM constructors this module calls: `vllm.LLM`, `vllm.SamplingParams`, `vllm.lora.request.LoRARequest`."""

    llm: Callable[..., Any]
    sampling_params: Callable[..., Any]
    lora_request: Callable[..., Any]
    client_errors: tuple[type[BaseException], ...] = (ValueError,)
    """Errors caused by the request, not the engine: stored as `bad_request`, and the engine is kept."""


def vllm_api() -> VllmApi:
    """vLLM's real constructors, imported on first use.

    Raises:
        GpuUnavailable: vLLM is not installed in this process's environment.
    """
    try:
        from vllm import LLM, SamplingParams
        from vllm.lora.request import LoRARequest
    except ImportError as exc:
        raise GpuUnavailable(
            f"vLLM is not installed in this worker's environment ({exc}): install turnout[gpu] on a GPU worker "
            "and start it with `-Q gpu`, or serve the model with `vllm serve` and declare it as kind: openai "
            "(see docs/gpu-workers.md)") from exc
    return VllmApi(llm=LLM, sampling_params=SamplingParams, lora_request=LoRARequest, client_errors=_client_errors())


def _client_errors() -> tuple[type[BaseException], ...]:
    # vLLM >= 0.27 raises VLLMClientError subclasses for bad requests and keeps ValueError for its own
    # failures too; older vLLM raised ValueError for bad input (vllm/exceptions.py).
    try:
        from vllm.exceptions import VLLMClientError
    except ImportError:
        return (ValueError,)
    return (VLLMClientError,)


_lock = threading.RLock()  # one GPU per process: loads and batches run one at a time
_engines: dict[str, Any] = {}
_lora_ids: dict[tuple[str, str], int] = {}


def _release(engine: Any) -> None:
    """Shut an engine's core down explicitly: waiting for the `LLM` to be collected would leave its
    GPU memory held by whatever still references it (a traceback, a local) when the next engine loads."""
    core = getattr(getattr(engine, "llm_engine", None), "engine_core", None)
    if core is None:
        log.warning("vLLM engine %r has no llm_engine.engine_core to shut down; relying on collection", engine)
        return
    try:
        core.shutdown()
    except Exception:  # a dead core may fail to stop; its memory is still given back below
        log.exception("shutting the vLLM engine core down failed")


def _evict(key: str) -> None:
    """Unload the engine of *key*: shut it down, drop the last reference, then collect."""
    engine = _engines.pop(key, None)
    if engine is None:
        return
    _release(engine)
    del engine
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _engine_args(spec: ModelSpec) -> dict[str, Any]:
    try:
        return vllm_batch.engine_args(spec)
    except ConfigError as exc:
        raise GpuUnavailable(str(exc)) from exc


def get_engine(spec: ModelSpec, *, api: VllmApi | None = None) -> Any:
    """The loaded `vllm.LLM` for *spec*'s engine arguments, loading it on first use in this process.

    Args:
        spec: A `kind: vllm` model; `model`, `options` (engine arguments) and `context_window` matter.
        api: vLLM's constructors (default: the real vLLM, imported now).

    Returns:
        The engine, shared by every run with the same engine arguments.

    Raises:
        GpuUnavailable: vLLM is not installed, or the model's options are malformed.
    """
    args = _engine_args(spec)
    key = vllm_batch.engine_key(args)
    with _lock:
        engine = _engines.get(key)
        if engine is not None:
            return engine
        factory = (api or vllm_api()).llm
        while len(_engines) >= MAX_RESIDENT_ENGINES:
            _evict(next(iter(_engines)))
        log.info("loading vLLM engine for model %s (%s)", spec.name, args)
        engine = factory(**args)
        _engines[key] = engine
        return engine


def clear_engines() -> None:
    """Unload every engine of this process (tests; a worker keeps its engine until it exits)."""
    with _lock:
        for key in list(_engines):
            _evict(key)
        _lora_ids.clear()


def _lora_id(adapter: vllm_batch.LoraAdapter) -> int:
    # vLLM wants an int id unique per adapter within an engine; 1.. in order of first use.
    return _lora_ids.setdefault((adapter.name, adapter.path), len(_lora_ids) + 1)


def replay_batch(spec: ModelSpec, requests: Iterable[Request], *, engine: Any = None,
                 api: VllmApi | None = None, clock: Callable[[], float] = time.perf_counter) -> list[Completion]:
    """Answer every request of a run with ONE `LLM.chat` call and return one Completion per request.

    Blocks until the whole batch is done: from async code, run it with `asyncio.to_thread` so the
    run's lease heartbeat keeps beating. Calls in one process run one at a time (one GPU).
    A failed call is not raised: every request gets the error as data. An error caused by the
    request (`VllmApi.client_errors`) keeps the engine; any other unloads it, since it may be dead.
    A case whose prompt does not fit the engine's `max_model_len` is left out of the call and
    stored as a `context_length` failure, so it cannot fail the rest of the run.

    Args:
        spec: A `kind: vllm` model.
        requests: The run's cases still to answer.
        engine: An already loaded `LLM` (default: `get_engine(spec)`, cached per process).
        api: vLLM's constructors (default: the real vLLM).
        clock: Seconds, for the batch wall time.

    Returns:
        Completions in the requests' order.

    Raises:
        GpuUnavailable: vLLM is not installed, or the model's params/options cannot be given to it.
    """
    todo = list(requests)
    if not todo:
        return []
    try:
        call = vllm_batch.build_chat_call(spec, todo)
    except ConfigError as exc:
        raise GpuUnavailable(str(exc)) from exc
    name = vllm_batch.served_model(spec)
    api = api or vllm_api()
    too_long: dict[int, tuple[int, int]] = {}
    outputs: list[Any] = []
    failure: Exception | None = None
    wall_s = 0.0
    with _lock:
        cached = engine is None
        llm = get_engine(spec, api=api) if cached else engine
        sampling = api.sampling_params(**call.sampling)
        lora = None
        if call.lora is not None:
            lora = api.lora_request(lora_name=call.lora.name, lora_int_id=_lora_id(call.lora),
                                    lora_path=call.lora.path)
        try:
            too_long = _over_long(llm, call.messages)
            fitting = [m for i, m in enumerate(call.messages) if i not in too_long]
            if fitting:
                started = clock()
                outputs = llm.chat(fitting, sampling_params=sampling, use_tqdm=False, lora_request=lora)
                wall_s = clock() - started
        except Exception as exc:  # a failed batch is data on every case (DESIGN.md section 3)
            failure = _detached(exc)
        del llm  # an engine to unload must have no reference left here when it is collected
        if failure is not None:
            log.warning("vLLM batch of %d conversations for model %s failed: %r", len(todo), spec.name, failure)
            client_error = isinstance(failure, api.client_errors)
            if cached and not client_error:  # the engine may be dead (CUDA error, EngineDeadError): reload
                _evict(vllm_batch.engine_key(_engine_args(spec)))
            return vllm_batch.failed_batch(todo, failure, served_model=name, client_errors=api.client_errors)
    answered = [r for i, r in enumerate(todo) if i not in too_long]
    mapped = vllm_batch.to_completions(answered, outputs, served_model=name, wall_s=wall_s)
    if mapped.timing == "amortized":
        log.warning("vLLM sent no per-request metrics for model %s: latency is the batch wall time / %d and "
                    "time to first token is unknown", spec.name, len(answered))
    if too_long:
        log.warning("%d cases of model %s do not fit its context window and were not sent", len(too_long), spec.name)
    answers = iter(mapped.completions)
    return [vllm_batch.context_length_failure(r, prompt_tokens=too_long[i][0], max_model_len=too_long[i][1],
                                              served_model=name) if i in too_long else next(answers)
            for i, r in enumerate(todo)]


def _over_long(llm: Any, conversations: list[list[dict[str, str]]]) -> dict[int, tuple[int, int]]:
    """`{index: (prompt tokens, max_model_len)}` of the conversations vLLM would refuse.

    Counted as `LLM.chat` counts them: the engine's tokenizer renders the chat template to text
    (with the assistant's turn opened), which is then encoded without adding special tokens.
    """
    limit = int(llm.model_config.max_model_len)
    tokenizer = llm.get_tokenizer()
    found = {}
    for index, conversation in enumerate(conversations):
        rendered = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
        n = len(tokenizer.encode(rendered, add_special_tokens=False)) if isinstance(rendered, str) else len(rendered)
        if not vllm_batch.fits_context(n, limit):
            found[index] = (n, limit)
    return found


def _detached(exc: Exception) -> Exception:
    """*exc* without its tracebacks, whose frames would keep the engine alive after it is unloaded."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__
    return exc


class VllmProvider:
    """A `kind: vllm` model as an `evals.providers.base.BatchProvider` on this worker's GPU.

    Each `complete_batch` is one `replay_batch` call, run on a thread so the event loop (the run's
    lease heartbeat, the storing of earlier batches) keeps going while the GPU works. The engine
    stays loaded in this process after `aclose`, for the next run of the same engine arguments.

    Args:
        spec: A `kind: vllm` model.
        api: vLLM's constructors (default: the real vLLM, imported on the first batch).
    """

    def __init__(self, spec: ModelSpec, *, api: VllmApi | None = None) -> None:
        self.spec = spec
        self.api = api

    async def complete_batch(self, requests: Sequence[Request]) -> list[Completion]:
        """Answer *requests* in one `LLM.chat` call (see `replay_batch`).

        Raises:
            GpuUnavailable: vLLM is not installed, or the model's params/options cannot be given to it.
        """
        return await asyncio.to_thread(replay_batch, self.spec, requests, api=self.api)

    async def aclose(self) -> None:
        """Nothing to close: the engine is kept for the process's next run."""
