"""Replay against a real open model: SmolLM2-135M-Instruct behind llama.cpp's OpenAI-compatible server."""

from __future__ import annotations

import platform

import pytest

from evals.models import ModelSpec
from evals.providers.openai_chat import OpenAIChatProvider
from evals.replay import replay
from evals.results import Completion, Request
from service.cli.local_model import LocalModel
from tests.integration.llama_server import llama_server  # noqa: F401 - the fixture

# Checked by hand with this model at temperature 0: the system line makes it answer directly
# ("The capital of France is Paris."); without it, it starts with "L'Étoile, la Marseillaise."
SYSTEM = {"role": "system", "content": "Answer in one short sentence."}
CASES = {
    "france": "What is the capital of France?",
    "japan": "What is the capital of Japan?",
    "sum": "What is 2 + 2?",
}


async def _replay(server: LocalModel, *, stream: bool) -> dict[str, Completion]:
    spec = ModelSpec(
        name="smollm2",
        base_url=server.base_url,
        model=server.model,
        params={"temperature": 0, "max_tokens": 32, "seed": 0},
        max_concurrency=2,
        timeout_s=60,
        stream=stream,
        hosting="self_hosted",
    )
    provider = OpenAIChatProvider(spec, api_key=None)
    requests = [Request(case_id=k, repetition=0, messages=[SYSTEM, {"role": "user", "content": q}])
                for k, q in CASES.items()]
    try:
        return {c.case_id: c async for batch in replay(requests, provider=provider, max_concurrency=2)
                for c in batch}
    finally:
        await provider.aclose()


@pytest.mark.slow
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
async def test_smollm2_answers_through_replay(llama_server: LocalModel, stream: bool) -> None:  # noqa: F811
    got = await _replay(llama_server, stream=stream)

    assert set(got) == set(CASES)
    for completion in got.values():
        assert completion.ok, completion.error
        assert completion.attempts == 1  # the server queues concurrent requests (no cut streams)
        assert completion.input_tokens and completion.input_tokens > 0
        assert completion.output_tokens and completion.output_tokens > 0
        assert completion.latency_ms is not None and completion.latency_ms > 0
        assert completion.finish_reason in ("stop", "length")
        assert completion.served_model == llama_server.model
    if stream:
        # llama.cpp's server ignores stream_options.include_usage: the counts are estimates.
        assert all(c.tokens_estimated for c in got.values())
        assert all(c.ttft_ms is not None and 0 < c.ttft_ms <= (c.latency_ms or 0) for c in got.values())
    else:
        assert not any(c.tokens_estimated for c in got.values())
        assert all(c.ttft_ms is None for c in got.values())
    assert "paris" in (got["france"].output or "").casefold()


def test_the_installed_llama_cpp_build_is_portable() -> None:
    """scripts/llama_wheel.sh builds without -march=native: no AMX (which faults on some CPUs) and no AVX-512."""
    llama_cpp = pytest.importorskip("llama_cpp")
    features = llama_cpp.llama_print_system_info().decode()
    if platform.machine() in ("x86_64", "AMD64"):
        assert "AVX2 = 1" in features, features
    assert "AMX" not in features and "AVX512" not in features, features
