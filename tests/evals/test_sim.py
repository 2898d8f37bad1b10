"""The simulated model (`kind: sim`): answers from the references with the declared accuracy, deterministic,
latency from the declared quantiles, tokens and prices, silent updates; its options checked at apply."""

from __future__ import annotations

import asyncio
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evals.cases import Case
from evals.config import load_config
from evals.cost import CostModel
from evals.errors import ConfigError
from evals.models import ModelSpec
from evals.providers.base import BatchProvider
from evals.providers.sim import NON_ANSWER, SimProvider
from evals.replay import replay
from evals.results import Request

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _spec(**options: object) -> ModelSpec:
    return ModelSpec(name="stand-in", kind="sim", model="frontier", params={"temperature": 0, "max_tokens": 64},
                     pricing={"input_per_mtok": 2.0, "output_per_mtok": 8.0}, options=options)


def _requests(n: int, *, tag: str = "lang:en", repetition: int = 0) -> list[Request]:
    cases = [Case(id=f"c{i}", input=f"question {i}?", expected=f"answer number {i}", tags=(tag,)) for i in range(n)]
    return [Request(case_id=c.id, repetition=repetition, case=c,
                    messages=[{"role": "user", "content": str(c.input)}]) for c in cases]


def _answer(provider: SimProvider, requests: list[Request]) -> list:  # type: ignore[type-arg]
    return asyncio.run(provider.complete_batch(requests))


def test_it_is_a_batch_provider_answering_each_request_in_order() -> None:
    provider = SimProvider(_spec(accuracy=1.0), now=lambda: NOW)
    requests = _requests(5)
    completions = _answer(provider, requests)
    assert isinstance(provider, BatchProvider)
    assert [c.case_id for c in completions] == [r.case_id for r in requests]
    assert all(c.output == r.case.expected for c, r in zip(completions, requests, strict=True))  # type: ignore[union-attr]


def test_accuracy_per_segment_is_the_share_of_references_answered() -> None:
    provider = SimProvider(_spec(accuracy=0.9, segments={"lang:fr": 0.3}), now=lambda: NOW)
    en = _answer(provider, _requests(400, tag="lang:en"))
    fr = _answer(provider, _requests(400, tag="lang:fr"))
    share_en = sum(c.output == f"answer number {c.case_id[1:]}" for c in en) / 400
    share_fr = sum(c.output == f"answer number {c.case_id[1:]}" for c in fr) / 400
    assert 0.85 <= share_en <= 0.95
    assert 0.24 <= share_fr <= 0.36


def test_a_wrong_answer_is_another_reference_and_never_contains_the_right_one() -> None:
    provider = SimProvider(_spec(accuracy=0.0), now=lambda: NOW)
    requests = _requests(30)
    for request, completion in zip(requests, _answer(provider, requests), strict=True):
        assert request.case is not None and completion.output is not None
        assert request.case.expected not in completion.output  # "answer number 1" is inside "answer number 12"
        assert completion.output.startswith("answer number") or completion.output == NON_ANSWER


def test_the_same_seed_case_and_repetition_give_the_same_answer_and_a_repetition_may_not() -> None:
    first = _answer(SimProvider(_spec(accuracy=0.5, seed=3), now=lambda: NOW), _requests(60))
    again = _answer(SimProvider(_spec(accuracy=0.5, seed=3), now=lambda: NOW), _requests(60))
    other = _answer(SimProvider(_spec(accuracy=0.5, seed=4), now=lambda: NOW), _requests(60))
    second = _answer(SimProvider(_spec(accuracy=0.5, seed=3), now=lambda: NOW), _requests(60, repetition=1))
    assert [c.output for c in first] == [c.output for c in again]
    assert [c.latency_ms for c in first] == [c.latency_ms for c in again]
    assert [c.output for c in first] != [c.output for c in other]
    assert [c.output for c in first] != [c.output for c in second]


def test_models_with_one_seed_find_the_same_cases_hard() -> None:
    strong = _answer(SimProvider(_spec(accuracy=0.9, seed=1), now=lambda: NOW), _requests(300))
    weaker = _answer(SimProvider(_spec(accuracy=0.8, seed=1), now=lambda: NOW), _requests(300))
    right = [c.output == f"answer number {c.case_id[1:]}" for c in strong]
    right_weaker = [c.output == f"answer number {c.case_id[1:]}" for c in weaker]
    assert all(a or not b for a, b in zip(right, right_weaker, strict=True))  # what the weaker gets, the strong gets


def test_a_sampled_model_draws_anew_each_cycle_and_a_greedy_one_does_not() -> None:
    greedy = [_answer(SimProvider(_spec(accuracy=0.5), cycle=cycle, now=lambda: NOW), _requests(60))
              for cycle in (1, 2)]
    sampled_spec = _spec(accuracy=0.5).model_copy(update={"params": {"temperature": 0.8}})
    sampled = [_answer(SimProvider(sampled_spec, cycle=cycle, now=lambda: NOW), _requests(60)) for cycle in (1, 2)]
    assert [c.output for c in greedy[0]] == [c.output for c in greedy[1]]
    assert [c.output for c in sampled[0]] != [c.output for c in sampled[1]]


def test_latency_follows_the_declared_quantiles_and_tokens_and_price_follow_the_text() -> None:
    provider = SimProvider(_spec(latency_ms={"p50": 500, "p95": 2000}, fingerprint="fp_1"), now=lambda: NOW)
    completions = _answer(provider, _requests(2000))
    latencies = sorted(c.latency_ms or 0.0 for c in completions)
    assert statistics.median(latencies) == pytest.approx(500, rel=0.1)
    assert latencies[int(0.95 * len(latencies))] == pytest.approx(2000, rel=0.15)
    one = completions[0]
    assert one.input_tokens == 3  # "question 0?" is 11 characters, 4 a token
    assert one.output_tokens is not None and one.output_tokens == -(-len(one.output or "") // 4)
    assert one.cost_usd == pytest.approx((one.input_tokens * 2.0 + one.output_tokens * 8.0) / 1e6)
    assert one.ttft_ms == pytest.approx((one.latency_ms or 0) * 0.25)
    assert {c.fingerprint for c in completions} == {"fp_1"}


def test_a_self_hosted_model_prices_its_simulated_busy_time() -> None:
    spec = ModelSpec(name="open", kind="sim", model="open-70b", hosting="self_hosted", max_concurrency=4,
                     pricing={"gpu_hour": 3.6, "gpus": 1})
    completion = _answer(SimProvider(spec, cost=CostModel.for_spec(spec), now=lambda: NOW), _requests(1))[0]
    assert completion.cost_usd == pytest.approx((completion.latency_ms or 0) / 1000 / 4 * 3.6 / 3600)


def test_an_update_changes_the_fingerprint_and_the_segment_from_its_time_on() -> None:
    at = NOW + timedelta(minutes=5)
    options = {"accuracy": 0.95, "fingerprint": "fp_1",
               "updates": [{"at": at.isoformat(), "fingerprint": "fp_2", "segments": {"lang:fr": 0.2}}]}
    before = _answer(SimProvider(_spec(**options), now=lambda: NOW), _requests(200, tag="lang:fr"))
    after = _answer(SimProvider(_spec(**options), now=lambda: at), _requests(200, tag="lang:fr"))
    english = _answer(SimProvider(_spec(**options), now=lambda: at), _requests(200, tag="lang:en"))

    def right(completions: list) -> float:  # type: ignore[type-arg]
        return sum(c.output == f"answer number {c.case_id[1:]}" for c in completions) / len(completions)

    assert {c.fingerprint for c in before} == {"fp_1"} and {c.fingerprint for c in after} == {"fp_2"}
    assert right(before) > 0.9 and right(after) < 0.3 and right(english) > 0.9


def test_error_rate_and_context_window_fail_cases_as_data() -> None:
    failing = _answer(SimProvider(_spec(error_rate=1.0), now=lambda: NOW), _requests(3))
    assert all(c.error_kind == "server" and c.output is None for c in failing)
    small = ModelSpec(name="small", kind="sim", model="m", context_window=10, params={"max_tokens": 8})
    assert _answer(SimProvider(small, now=lambda: NOW), _requests(1))[0].error_kind == "context_length"


def test_replay_drives_it_like_any_batch_provider() -> None:
    async def collect() -> list:  # type: ignore[type-arg]
        out = []
        async for batch in replay(_requests(10), provider=SimProvider(_spec(), now=lambda: NOW),
                                  max_concurrency=1, batch_size=4):
            out.extend(batch)
        return out

    assert len(asyncio.run(collect())) == 10


def test_a_simulated_model_shows_as_simulated() -> None:
    assert _spec().display_name == "stand-in (simulated)"
    assert ModelSpec(name="real", model="gpt").display_name == "real"


@pytest.mark.parametrize(("options", "field", "message"), [
    ("{accuracy: 1.5}", "models[0].options.accuracy", "less than or equal to 1"),
    ("{segments: {'lang:fr': 2}}", "models[0].options.segments", "probability in [0, 1]"),
    ("{latency_ms: {p50: 900, p95: 100}}", "models[0].options.latency_ms", "must be at least p50"),
    ("{fingerprnt: x}", "models[0].options.fingerprnt", "Extra inputs are not permitted"),
    ("{updates: [{fingerprint: x}]}", "models[0].options.updates[0].at", "Field required"),
])
def test_bad_options_are_refused_at_apply_with_the_field_and_line(tmp_path: Path, options: str, field: str,
                                                                  message: str) -> None:
    path = tmp_path / "turnout.yaml"
    path.write_text(f"models:\n  - name: sim\n    kind: sim\n    model: m\n    options: {options}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.field == field
    assert message in caught.value.reason
    assert caught.value.line == 5
