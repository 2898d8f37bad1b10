"""GPU worker backend: one engine per process, one batched `LLM.chat` call per run.

vLLM cannot be installed here (no GPU): the engine is the stand-in of tests/peers/vllm_standin.py,
which has vLLM's `LLM.chat` signature and output shapes. What is tested is jobs.gpu's batching and
caching and the mapping in evals.providers.vllm_batch.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from evals.models import ModelSpec
from evals.results import Request
from jobs import gpu
from jobs.providers import ProviderUnavailable
from tests.peers.vllm_standin import TOKEN_S, TTFT_S, FakeVllm, LoRARequest, SamplingParams


@pytest.fixture(autouse=True)
def fresh_process() -> Iterator[None]:
    """Each test starts like a newly started worker process: no engine loaded."""
    gpu.clear_engines()
    yield
    gpu.clear_engines()


def api(fake: FakeVllm) -> gpu.VllmApi:
    return gpu.VllmApi(llm=fake.llm, sampling_params=fake.sampling_params, lora_request=fake.lora_request)


def spec(**overrides: Any) -> ModelSpec:
    values: dict[str, Any] = {"name": "llama", "kind": "vllm", "model": "meta-llama/Llama-3.1-8B-Instruct",
                              "hosting": "self_hosted", "params": {"temperature": 0, "max_tokens": 32}}
    values.update(overrides)
    return ModelSpec(**values)


def cases(n: int, *, repetition: int = 0) -> list[Request]:
    return [Request(case_id=f"case-{i}", repetition=repetition,
                    messages=[{"role": "system", "content": "Answer briefly."},
                              {"role": "user", "content": f"Question {i}?\nANSWER: answer {i}"}])
            for i in range(n)]


def test_a_run_is_one_chat_call_with_every_conversation_in_order() -> None:
    fake = FakeVllm()
    # when a run of five cases is replayed
    completions = gpu.replay_batch(spec(), cases(5), api=api(fake))
    # then the engine saw exactly one chat call holding all five conversations, progress bar off
    (engine,) = fake.engines
    (call,) = engine.calls
    assert call.messages == [r.messages for r in cases(5)]
    assert call.use_tqdm is False
    # and each answer went back to its own case
    assert [(c.case_id, c.output) for c in completions] == [(f"case-{i}", f"answer {i}") for i in range(5)]


def test_sampling_params_are_built_from_the_model_params_with_max_tokens_always_set() -> None:
    fake = FakeVllm()
    gpu.replay_batch(spec(params={"temperature": 0.2, "top_p": 0.9, "seed": 11, "stop": ["###"]}),
                     cases(2), api=api(fake))
    gpu.replay_batch(spec(name="other", params={}), cases(1), api=api(fake))
    first, second = fake.engines[0].calls
    assert first.sampling_params == SamplingParams(temperature=0.2, top_p=0.9, seed=11, stop=["###"], max_tokens=256)
    # no max_tokens declared: 256, not vLLM's 16
    assert second.sampling_params is not None and second.sampling_params.max_tokens == 256


def test_max_tokens_cuts_answers_and_is_reported_as_a_length_finish() -> None:
    fake = FakeVllm()
    long = [Request(case_id="long", repetition=0,
                    messages=[{"role": "user", "content": "Tell me.\nANSWER: " + " ".join(["word"] * 50)}])]
    (c,) = gpu.replay_batch(spec(params={"max_tokens": 8}), long, api=api(fake))
    assert (c.output_tokens, c.finish_reason) == (8, "length") and c.ok


def test_a_lora_adapter_is_enabled_on_the_engine_and_sent_with_the_call() -> None:
    fake = FakeVllm()
    lora = {"name": "support-ft", "path": "/adapters/support-ft"}
    completions = gpu.replay_batch(spec(options={"lora": lora}), cases(2), api=api(fake))
    (engine,) = fake.engines
    assert engine.engine_args["enable_lora"] is True
    assert engine.calls[0].lora_request == LoRARequest(lora_name="support-ft", lora_int_id=1,
                                                       lora_path="/adapters/support-ft")
    assert {c.served_model for c in completions} == {"support-ft"}
    # the base model alone sends no adapter
    gpu.replay_batch(spec(), cases(1), api=api(fake))
    assert fake.engines[-1].calls[-1].lora_request is None


def test_the_engine_is_loaded_once_per_process_for_runs_of_the_same_model() -> None:
    fake = FakeVllm()
    model = spec(options={"dtype": "bfloat16", "tensor_parallel_size": 2, "max_model_len": 4096})
    # when two runs of the same model (another watch's name for it, other params) follow each other
    gpu.replay_batch(model, cases(3), api=api(fake))
    gpu.replay_batch(model.model_copy(update={"name": "llama-again", "params": {"temperature": 1}}),
                     cases(2, repetition=1), api=api(fake))
    # then one engine was built, with the model's engine arguments, and it served both runs
    (engine,) = fake.engines
    assert engine.engine_args == {"model": "meta-llama/Llama-3.1-8B-Instruct", "tensor_parallel_size": 2,
                                  "dtype": "bfloat16", "max_model_len": 4096, "gpu_memory_utilization": 0.9,
                                  "enable_lora": False, "disable_log_stats": False}
    assert len(engine.calls) == 2


def test_other_engine_args_load_another_engine_and_unload_the_first() -> None:
    fake = FakeVllm()
    gpu.replay_batch(spec(options={"dtype": "bfloat16"}), cases(1), api=api(fake))
    gpu.replay_batch(spec(options={"dtype": "float16"}), cases(1), api=api(fake))
    gpu.replay_batch(spec(options={"dtype": "float16"}), cases(1), api=api(fake))
    assert [e.engine_args["dtype"] for e in fake.engines] == ["bfloat16", "float16"]
    # one GPU holds one engine: the first was dropped from the cache when the second was loaded
    assert gpu.get_engine(spec(options={"dtype": "float16"}), api=api(fake)) is fake.engines[1]
    assert gpu.get_engine(spec(options={"dtype": "bfloat16"}), api=api(fake)) is not fake.engines[0]


def test_tokens_and_timing_come_from_vllms_outputs() -> None:
    fake = FakeVllm()
    completions = gpu.replay_batch(spec(), cases(3), api=api(fake))
    for i, c in enumerate(completions):
        # prompt tokens: the rendered conversation; output tokens: "answer i" is two tokens
        assert c.input_tokens is not None and c.input_tokens > 5
        assert (c.output_tokens, c.tokens_estimated, c.cost_usd) == (2, False, None)
        assert c.ttft_ms == pytest.approx(TTFT_S * (i + 1) * 1000)
        # latency = TTFT + decode span (one more token), never wall-clock arrival mixed with monotonic stamps
        assert c.latency_ms == pytest.approx((TTFT_S * (i + 1) + TOKEN_S) * 1000)


def test_without_vllm_metrics_latency_is_the_amortized_wall_time(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeVllm(engine_options={"metrics": "none"})
    ticks = iter([10.0, 13.0])
    completions = gpu.replay_batch(spec(), cases(3), api=api(fake), clock=lambda: next(ticks))
    assert [c.latency_ms for c in completions] == [pytest.approx(1000.0)] * 3
    assert all(c.ttft_ms is None for c in completions)
    assert "no per-request metrics" in caplog.text


def test_a_failed_batch_is_stored_as_per_case_errors_and_the_engine_is_reloaded() -> None:
    fake = FakeVllm(engine_options={"fail_with": RuntimeError("CUDA error: an illegal memory access")})
    # when the batch call raises
    completions = gpu.replay_batch(spec(), cases(4), api=api(fake))
    # then nothing is raised and every case holds the error
    assert [(c.case_id, c.output, c.error_kind) for c in completions] == [
        (f"case-{i}", None, "server") for i in range(4)]
    assert all("illegal memory access" in (c.error or "") for c in completions)
    # and the possibly dead engine is not reused by the next run
    gpu.replay_batch(spec(), cases(1), api=api(fake))
    assert len(fake.engines) == 2


def test_a_prompt_longer_than_max_model_len_fails_the_batch_as_bad_request() -> None:
    fake = FakeVllm()
    completions = gpu.replay_batch(spec(context_window=6), cases(2), api=api(fake))
    assert fake.engines[0].engine_args["max_model_len"] == 6
    assert {c.error_kind for c in completions} == {"bad_request"}
    assert "maximum model length" in (completions[0].error or "")


def test_params_vllm_cannot_take_make_the_worker_refuse_the_run_before_loading() -> None:
    fake = FakeVllm()
    with pytest.raises(gpu.GpuUnavailable, match="logprobs_mode"):
        gpu.replay_batch(spec(params={"logprobs_mode": "raw"}), cases(1), api=api(fake))
    assert fake.engines == []


def test_an_empty_run_loads_nothing() -> None:
    fake = FakeVllm()
    assert gpu.replay_batch(spec(), [], api=api(fake)) == []
    assert fake.engines == []


def test_without_vllm_installed_the_worker_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm raises ImportError, installed or not
    with pytest.raises(gpu.GpuUnavailable) as caught:
        gpu.replay_batch(spec(), cases(1))
    assert "install turnout[gpu] on a GPU worker" in str(caught.value)
    # the pipeline's existing handling applies: it marks the run failed with this reason
    assert isinstance(caught.value, ProviderUnavailable)
    with pytest.raises(gpu.GpuUnavailable, match="turnout\\[gpu\\]"):
        gpu.get_engine(spec())
