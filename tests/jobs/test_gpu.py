"""GPU worker backend: one engine per process, one batched `LLM.chat` call per run.

vLLM cannot be installed here (no GPU): the engine is the stand-in of tests/peers/vllm_standin.py,
which has vLLM's `LLM.chat` signature and output shapes. What is tested is jobs.gpu's batching and
caching and the mapping in evals.providers.vllm_batch.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import aclosing
from typing import Any

import pytest

from evals.cost import Budget, CostModel
from evals.limits.breaker import BudgetExceeded
from evals.models import ModelSpec
from evals.replay import replay
from evals.results import Request
from jobs import gpu
from jobs.providers import ProviderUnavailable
from tests.peers.vllm_standin import TOKEN_S, TTFT_S, FakeVllm
from tests.peers.vllm_types import LoRARequest, SamplingParams, VLLMValidationError


@pytest.fixture(autouse=True)
def fresh_process() -> Iterator[None]:
    """Each test starts like a newly started worker process: no engine loaded."""
    gpu.clear_engines()
    yield
    gpu.clear_engines()


def api(fake: FakeVllm) -> gpu.VllmApi:
    return gpu.VllmApi(llm=fake.llm, sampling_params=fake.sampling_params, lora_request=fake.lora_request,
                       client_errors=fake.client_errors)


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
    # then one engine was built, with exactly the model's engine arguments, and it served both runs
    (engine,) = fake.engines
    assert fake.passed == [{"model": "meta-llama/Llama-3.1-8B-Instruct", "tensor_parallel_size": 2,
                            "dtype": "bfloat16", "max_model_len": 4096, "disable_log_stats": False}]
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


def test_a_prompt_longer_than_max_model_len_fails_alone_and_the_others_are_answered() -> None:
    fake = FakeVllm()
    run = cases(3)
    run[1] = Request(case_id="case-1", repetition=0, messages=[
        {"role": "user", "content": "Long question " + " ".join(["word"] * 40) + "\nANSWER: answer 1"}])
    # when the run goes to an engine whose window holds the short cases (about 15 tokens) only
    completions = gpu.replay_batch(spec(context_window=30), run, api=api(fake))
    # then the long case failed alone, as a context_length error naming its length and the limit
    long = completions[1]
    assert (long.case_id, long.output, long.error_kind) == ("case-1", None, "context_length")
    assert "is 47 tokens" in (long.error or "") and "max_model_len is 30" in (long.error or "")
    # and the others were answered, in one chat call that did not carry the long one
    assert [(c.case_id, c.output) for c in (completions[0], completions[2])] == [
        ("case-0", "answer 0"), ("case-2", "answer 2")]
    (call,) = fake.engines[0].calls
    assert call.messages == [run[0].messages, run[2].messages]


def test_the_pre_check_refuses_what_vllm_refuses_and_nothing_more() -> None:
    fake = FakeVllm()
    engine = fake.llm("m", max_model_len=16)
    tokenizer = engine.get_tokenizer()

    def prompt_of(n: int) -> list[dict[str, str]]:  # the template adds 2 tokens: "<|user|>" and "<|assistant|>"
        return [{"role": "user", "content": " ".join(f"w{i}" for i in range(n - 2))}]

    for n in (15, 16, 17):
        text = tokenizer.apply_chat_template(prompt_of(n), tokenize=False, add_generation_prompt=True)
        assert isinstance(text, str) and len(tokenizer.encode(text, add_special_tokens=False)) == n
    # vLLM runs 15 tokens in a window of 16, and refuses 16 (no room to answer) and 17
    assert engine.chat(prompt_of(15), use_tqdm=False)[0].outputs
    for n in (16, 17):
        with pytest.raises(VLLMValidationError):
            engine.chat(prompt_of(n), use_tqdm=False)
    completions = gpu.replay_batch(spec(), [Request(case_id=f"n{n}", repetition=0, messages=prompt_of(n))
                                            for n in (15, 16, 17)], engine=engine, api=api(fake))
    assert [c.error_kind for c in completions] == [None, "context_length", "context_length"]
    assert len(engine.calls) == 4  # three direct calls above, then one batch holding only the 15-token case


def test_a_client_error_fails_the_batch_as_bad_request_and_keeps_the_engine() -> None:
    refusal = VLLMValidationError("temperature must be non-negative, got -1.", parameter="temperature", value=-1)
    fake = FakeVllm(engine_options={"fail_with": refusal})
    completions = gpu.replay_batch(spec(), cases(2), api=api(fake))
    assert {c.error_kind for c in completions} == {"bad_request"}
    assert "(parameter=temperature, value=-1)" in (completions[0].error or "")
    # the request was at fault, not the engine: the next run uses the same engine, never shut down
    gpu.replay_batch(spec(), cases(1), api=api(fake))
    assert fake.events == ["build 1"] and len(fake.engines[0].calls) == 2


def test_a_server_error_unloads_the_engine_before_the_next_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeVllm(engine_options={"fail_with": RuntimeError("CUDA error: an illegal memory access")}, retain=False)
    alive_after_collect: list[list[int]] = []
    real_collect = gc.collect

    def collect(*args: Any) -> int:
        found = real_collect(*args)
        alive_after_collect.append(fake.alive())
        return found

    monkeypatch.setattr(gc, "collect", collect)
    completions = gpu.replay_batch(spec(), cases(2), api=api(fake))
    assert {c.error_kind for c in completions} == {"server"}
    # the engine core was shut down, then the engine collected: no reference (a local, a traceback) held it
    assert fake.events == ["build 1", "shutdown 1"]
    assert alive_after_collect == [[]]
    monkeypatch.undo()
    # and nothing referenced the engine any more when the next run built its own (which fails too)
    gpu.replay_batch(spec(), cases(1), api=api(fake))
    assert fake.events == ["build 1", "shutdown 1", "build 2", "shutdown 2"]
    assert fake.alive_at_build == [[], []] and fake.alive() == []


def test_other_engine_args_shut_the_first_engine_down_before_building_the_second() -> None:
    fake = FakeVllm(retain=False)
    gpu.replay_batch(spec(options={"dtype": "bfloat16"}), cases(1), api=api(fake))
    gpu.replay_batch(spec(options={"dtype": "float16"}), cases(1), api=api(fake))
    assert fake.events == ["build 1", "shutdown 1", "build 2"]
    assert fake.alive_at_build == [[], []]
    gpu.clear_engines()
    assert fake.events[-1] == "shutdown 2" and fake.alive() == []


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


async def test_a_budget_splits_a_gpu_run_and_stops_it_with_reason_budget() -> None:
    fake = FakeVllm()
    model = spec(pricing={"gpu_hour": 3600.0, "gpus": 1, "capacity_rps": 1.0})  # $1 per GPU-second, 1 case/s
    ticks = iter([0.0, 2.0])  # the first call takes 2 s of GPU time
    budget = Budget(2.5)
    answered: list[str] = []
    # when four cases are replayed through the provider with a budget that covers two cases' estimates
    with pytest.raises(BudgetExceeded, match="^budget"):
        async with aclosing(replay(cases(4), provider=gpu.VllmProvider(model, api=api(fake)), max_concurrency=1,
                                   budget=budget, cost=CostModel.for_spec(model),
                                   clock=lambda: next(ticks))) as batches:
            async for batch in batches:
                answered += [c.case_id for c in batch]
    # then the engine got one call of the two that fit, priced at the measured time, and no call beyond
    (engine,) = fake.engines
    assert [len(call.messages) for call in engine.calls] == [2]
    assert answered == ["case-0", "case-1"]
    assert budget.spent_usd == pytest.approx(2.0)
