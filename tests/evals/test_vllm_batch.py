"""The pure mapping of a `kind: vllm` model: spec -> LLM/chat arguments, RequestOutputs -> Completions.

vLLM cannot be installed on these machines (no GPU); outputs are built with the stand-in's classes,
which carry vLLM's attribute names (tests/peers/vllm_standin.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from evals.errors import ConfigError
from evals.models import ModelSpec
from evals.providers import vllm_batch
from evals.results import RETRYABLE, Request
from tests.peers.vllm_types import (
    CompletionOutput,
    RequestMetrics,
    RequestOutput,
    RequestStateStats,
    VLLMClientError,
    VLLMServerError,
    VLLMValidationError,
)


def spec(**overrides: Any) -> ModelSpec:
    values: dict[str, Any] = {"name": "mistral", "kind": "vllm", "model": "mistralai/Mistral-7B-Instruct-v0.3",
                              "hosting": "self_hosted"}
    values.update(overrides)
    return ModelSpec(**values)


def requests(n: int) -> list[Request]:
    return [Request(case_id=f"c{i}", repetition=0, messages=[{"role": "user", "content": f"q{i}"}])
            for i in range(n)]


def output(text: str, *, prompt: int = 5, generated: int = 3, finish: str | None = "stop",
           metrics: RequestStateStats | RequestMetrics | None = None) -> RequestOutput:
    return RequestOutput(request_id="0", prompt=None, prompt_token_ids=list(range(prompt)), prompt_logprobs=None,
                         outputs=[CompletionOutput(index=0, text=text, token_ids=list(range(generated)),
                                                   cumulative_logprob=None, logprobs=None, finish_reason=finish)],
                         finished=True, metrics=metrics)


# --- spec -> arguments -------------------------------------------------------------------------

def test_max_tokens_is_always_sent_because_vllms_default_is_16() -> None:
    assert vllm_batch.sampling_args(spec())["max_tokens"] == vllm_batch.DEFAULT_MAX_TOKENS == 256
    assert vllm_batch.sampling_args(spec(params={"max_tokens": 40}))["max_tokens"] == 40
    assert vllm_batch.sampling_args(spec(params={"max_completion_tokens": 50}))["max_tokens"] == 50


def test_sampling_params_pass_through_and_n_is_not_sent() -> None:
    params = {"temperature": 0.0, "top_p": 0.9, "seed": 7, "stop": ["\n\n"], "n": 1}
    assert vllm_batch.sampling_args(spec(params=params)) == {
        "temperature": 0.0, "top_p": 0.9, "seed": 7, "stop": ["\n\n"], "max_tokens": 256}


@pytest.mark.parametrize(("params", "field"), [
    ({"response_format": {"type": "json_object"}}, "params.response_format"),  # an OpenAI-only param
    ({"n": 3}, "params.n"),                                                    # repetitions come from repeat: k
    ({"max_tokens": 0}, "params.max_tokens"),
])
def test_params_vllm_cannot_take_are_refused_by_name(params: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        vllm_batch.sampling_args(spec(params=params))
    assert caught.value.field == field and "mistral" in str(caught.value)


def test_engine_args_come_from_options_and_context_window() -> None:
    args = vllm_batch.engine_args(spec(
        context_window=8192,
        options={"dtype": "bfloat16", "tensor_parallel_size": 2, "gpu_memory_utilization": 0.85,
                 "lora": {"name": "support-ft", "path": "/adapters/support"}}))
    assert args == {"model": "mistralai/Mistral-7B-Instruct-v0.3", "dtype": "bfloat16", "tensor_parallel_size": 2,
                    "gpu_memory_utilization": 0.85, "max_model_len": 8192, "enable_lora": True,
                    "disable_log_stats": False}
    # an explicit max_model_len wins over the context window
    assert vllm_batch.engine_args(spec(context_window=8192, options={"max_model_len": 4096}))["max_model_len"] == 4096


@pytest.mark.parametrize(("options", "field"), [
    ({"lora": {"name": "x"}}, "options.lora"),
    ({"lora": {"name": "", "path": "/a"}}, "options.lora"),
    ({"tensor_parallel_size": 0}, "options.tensor_parallel_size"),
    ({"gpu_memory_utilization": 1.5}, "options.gpu_memory_utilization"),
    ({"model": "other"}, "options.model"),
])
def test_malformed_options_are_refused_by_name(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        vllm_batch.engine_args(spec(options=options))
    assert caught.value.field == field


def test_engine_key_is_equal_for_equal_args_whatever_their_order() -> None:
    a = vllm_batch.engine_key({"model": "m", "dtype": "half", "tensor_parallel_size": 1})
    b = vllm_batch.engine_key({"tensor_parallel_size": 1, "model": "m", "dtype": "half"})
    assert a == b != vllm_batch.engine_key({"model": "m", "dtype": "bfloat16", "tensor_parallel_size": 1})


def test_chat_call_holds_every_conversation_in_order_with_the_adapter() -> None:
    call = vllm_batch.build_chat_call(spec(options={"lora": {"name": "ft", "path": "/a"}}), requests(3))
    assert call.messages == [[{"role": "user", "content": f"q{i}"}] for i in range(3)]
    assert call.lora == vllm_batch.LoraAdapter(name="ft", path="/a")
    assert call.sampling["max_tokens"] == 256


# --- outputs -> completions --------------------------------------------------------------------

def test_tokens_and_v1_timing_come_from_the_request_output() -> None:
    # given V1 stats: wall-clock arrival, monotonic engine-core stamps, TTFT as a duration
    stats = RequestStateStats(arrival_time=1_750_000_000.0, first_token_ts=100.0, last_token_ts=100.5,
                              first_token_latency=0.25, num_generation_tokens=3)
    mapped = vllm_batch.to_completions(requests(1), [output("Paris", prompt=12, generated=3, metrics=stats)],
                                       served_model="m", wall_s=9.0)
    (c,) = mapped.completions
    assert (c.case_id, c.output, c.input_tokens, c.output_tokens, c.tokens_estimated) == ("c0", "Paris", 12, 3, False)
    # then latency = TTFT + decode span, never a difference between the two clocks
    assert c.ttft_ms == pytest.approx(250.0) and c.latency_ms == pytest.approx(750.0)
    assert (c.finish_reason, c.served_model, c.cost_usd, c.error, mapped.timing) == ("stop", "m", None, None,
                                                                                      "per_request")


def test_v0_metrics_are_read_on_their_single_wall_clock() -> None:
    metrics = RequestMetrics(arrival_time=1000.0, last_token_time=1001.2, first_scheduled_time=1000.1,
                             first_token_time=1000.3, time_in_queue=0.1)
    (c,) = vllm_batch.to_completions(requests(1), [output("x", metrics=metrics)], served_model="m",
                                     wall_s=5.0).completions
    assert c.ttft_ms == pytest.approx(300.0) and c.latency_ms == pytest.approx(1200.0)


def test_without_metrics_latency_is_the_amortized_wall_time_and_flagged() -> None:
    mapped = vllm_batch.to_completions(requests(4), [output(f"a{i}") for i in range(4)], served_model="m", wall_s=2.0)
    assert mapped.timing == "amortized"
    assert [c.latency_ms for c in mapped.completions] == [pytest.approx(500.0)] * 4
    assert all(c.ttft_ms is None for c in mapped.completions)


def test_an_aborted_or_empty_output_is_a_per_case_error_and_the_others_stand() -> None:
    empty = output("unused")
    empty.outputs = []
    mapped = vllm_batch.to_completions(requests(3), [output("ok"), output("half", finish="abort"), empty],
                                       served_model="m", wall_s=1.0)
    ok, aborted, missing = mapped.completions
    assert ok.ok and ok.output == "ok"
    assert (aborted.output, aborted.error_kind) == (None, "server") and "abort" in (aborted.error or "")
    assert (missing.output, missing.error_kind) == (None, "bad_response")


def test_a_length_finish_is_an_answer_cut_short_not_an_error() -> None:
    (c,) = vllm_batch.to_completions(requests(1), [output("long", finish="length")], served_model="m",
                                     wall_s=1.0).completions
    assert c.ok and c.finish_reason == "length"


def test_an_output_count_mismatch_fails_every_case_rather_than_misattributing_answers() -> None:
    mapped = vllm_batch.to_completions(requests(3), [output("a"), output("b")], served_model="m", wall_s=1.0)
    assert [c.error_kind for c in mapped.completions] == ["bad_response"] * 3
    assert "2 outputs for 3" in (mapped.completions[0].error or "")


@pytest.mark.parametrize(("exc", "kind"), [
    (RuntimeError("CUDA out of memory"), "server"),
    (ValueError("The decoder prompt (length 9000) is longer than the maximum model length of 8192."), "bad_request"),
])
def test_a_failed_batch_is_stored_on_every_case_as_data(exc: Exception, kind: str) -> None:
    completions = vllm_batch.failed_batch(requests(3), exc, served_model="m")
    assert [(c.case_id, c.output, c.error_kind) for c in completions] == [(f"c{i}", None, kind) for i in range(3)]
    assert all(str(exc) in (c.error or "") for c in completions)


@pytest.mark.parametrize(("exc", "kind"), [
    (VLLMValidationError("This model's maximum context length is 8192 tokens. However, you requested 0 output "
                         "tokens and your prompt contains at least 8193 input tokens, for a total of at least 8193 "
                         "tokens.", parameter="input_tokens", value=8193), "bad_request"),
    (VLLMServerError("the engine core died"), "server"),
    # vLLM >= 0.27 raises ValueError for its own faults too: not the request's
    (ValueError("invalid shape for the KV cache"), "server"),
])
def test_vllm_client_errors_are_told_apart_by_class(exc: Exception, kind: str) -> None:
    completions = vllm_batch.failed_batch(requests(2), exc, served_model="m", client_errors=(VLLMClientError,))
    assert {c.error_kind for c in completions} == {kind}


def test_a_prompt_fits_when_one_token_is_left_for_the_answer() -> None:
    assert [vllm_batch.fits_context(n, 4096) for n in (4095, 4096, 4097)] == [True, False, False]
    (c,) = [vllm_batch.context_length_failure(requests(1)[0], prompt_tokens=5000, max_model_len=4096,
                                              served_model="m")]
    assert (c.output, c.error_kind, c.served_model) == (None, "context_length", "m")
    assert "5000 tokens" in (c.error or "") and "max_model_len is 4096" in (c.error or "")
    assert "context_length" not in RETRYABLE


def test_served_model_is_the_adapter_when_one_is_applied() -> None:
    assert vllm_batch.served_model(spec()) == "mistralai/Mistral-7B-Instruct-v0.3"
    assert vllm_batch.served_model(spec(options={"lora": {"name": "ft", "path": "/a"}})) == "ft"
