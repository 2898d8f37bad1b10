"""LLM judges through the real OpenAIChatProvider against the local OpenAI-compatible peer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from evals.cases import Case
from evals.errors import ConfigError, UnknownScorer
from evals.models import ModelSpec
from evals.providers.base import Provider
from evals.providers.openai_chat import OpenAIChatProvider
from evals.results import Completion, Score
from evals.scoring import ScorerSpec
from evals.scoring.apply import score_completion
from evals.scoring.context import MemoryJudgeCache, ScorerContext, judge_cache_key
from evals.scoring.judge import NEEDS_PRODUCTION, parse_pairwise_reply, parse_rubric_reply
from tests.peers.openai_peer import Messages, OpenAIPeer

CASE = Case(id="c1", input="What is the capital of Australia?", expected="Canberra", criteria="Name the city.")
PRODUCTION = Completion(case_id="c1", output="PRODUCTION-TEXT: Sydney")
CANDIDATE = Completion(case_id="c1", output="CANDIDATE-TEXT: Canberra")


class ScriptedJudge:
    """The peer's answer function: records each prompt and replies with a scripted verdict."""

    def __init__(self) -> None:
        self.prompts: list[str] = []
        self.reply: Any = {"score": 8, "explanation": "Correct city."}

    def __call__(self, messages: Messages) -> str:
        user = str(messages[-1]["content"])
        self.prompts.append(user)
        reply = self.reply(user) if callable(self.reply) else self.reply
        return reply if isinstance(reply, str) else json.dumps(reply)


def prefers_candidate(prompt: str) -> dict[str, str]:
    candidate_first = prompt.index("CANDIDATE-TEXT") < prompt.index("PRODUCTION-TEXT")
    return {"winner": "A" if candidate_first else "B", "explanation": "Canberra is right."}


@pytest.fixture
def scripted() -> ScriptedJudge:
    return ScriptedJudge()


@pytest.fixture
def peer(scripted: ScriptedJudge) -> Iterator[OpenAIPeer]:
    with OpenAIPeer(answer=scripted, models=("judge-model",)) as running:
        yield running


@pytest.fixture
async def provider(peer: OpenAIPeer) -> AsyncIterator[OpenAIChatProvider]:
    spec = ModelSpec(name="judge", base_url=peer.base_url, model="judge-model", params={"temperature": 0},
                     max_retries=0)
    judge_provider = OpenAIChatProvider(spec, api_key=None)
    yield judge_provider
    await judge_provider.aclose()


def context_for(provider: Provider, cache: MemoryJudgeCache | None = None) -> ScorerContext:
    def providers(name: str) -> Provider:
        if name != "judge":
            raise ConfigError(f"unknown judge model '{name}'; declare it under models:")
        return provider

    return ScorerContext(providers=providers, cache=cache)


async def run(spec: str, context: ScorerContext, completion: Completion = CANDIDATE,
              production: Completion | None = None, case: Case = CASE) -> Score:
    return await score_completion(ScorerSpec.parse(spec).build(context), case, completion, production)


# --- rubric judge -------------------------------------------------------------------------------


async def test_rubric_judge_scores_against_the_reference(
    provider: OpenAIChatProvider, peer: OpenAIPeer, scripted: ScriptedJudge
) -> None:
    result = await run('judge:{"model": "judge", "rubric": "Spelling counts."}', context_for(provider))

    assert result.value == pytest.approx(0.8)
    assert result.explanation == "Correct city."
    assert result.details == {"judge_model": "judge", "prompt_version": "rubric-v1", "cached": False,
                              "judge_score": 8.0}
    [request] = peer.requests
    assert request["model"] == "judge-model" and request["temperature"] == 0
    [prompt] = scripted.prompts
    for part in (CASE.input, "Canberra", "Spelling counts.\nName the city.", "CANDIDATE-TEXT: Canberra"):
        assert part in prompt


@pytest.mark.parametrize(
    ("reply", "parsed"),
    [
        ('{"score": 7, "explanation": "ok"}', (7.0, "ok")),
        ('Here is my verdict:\n```json\n{"score": 10, "explanation": "perfect"}\n```', (10.0, "perfect")),
        ('I think {"explanation": "half right", "score": "5"} overall.', (5.0, "half right")),
        ("Score: 3/10 because it is vague.", (3.0, "")),
        ('{"score": 11, "explanation": "too generous"}', None),
        ('{"score": true}', None),
        ("The answer looks fine to me.", None),
    ],
)
def test_rubric_replies_are_parsed_robustly(reply: str, parsed: tuple[float, str] | None) -> None:
    assert parse_rubric_reply(reply) == parsed


async def test_unparsable_verdict_is_unscorable_with_the_raw_text_and_not_cached(
    provider: OpenAIChatProvider, peer: OpenAIPeer, scripted: ScriptedJudge
) -> None:
    scripted.reply = "I would rather not grade this."
    cache = MemoryJudgeCache()

    first = await run('judge:{"model": "judge"}', context_for(provider, cache))
    await run('judge:{"model": "judge"}', context_for(provider, cache))

    assert first.value is None
    assert first.error == "judge reply has no score from 0 to 10"
    assert first.details["raw"] == "I would rather not grade this."
    assert cache.entries == {} and len(peer.requests) == 2  # asked again, never cached


async def test_failed_judge_call_is_unscorable_with_the_error(provider: OpenAIChatProvider, peer: OpenAIPeer) -> None:
    peer.fail_next(1, "400")

    result = await run('judge:{"model": "judge"}', context_for(provider))

    assert result.value is None
    assert result.error == "judge call failed: HTTP 400: Invalid request: the messages are not acceptable."


async def test_cached_verdict_makes_no_second_http_call(
    provider: OpenAIChatProvider, peer: OpenAIPeer
) -> None:
    cache = MemoryJudgeCache()
    context = context_for(provider, cache)

    first = await run('judge:{"model": "judge"}', context)
    again = await run('judge:{"model": "judge"}', context)

    assert len(peer.requests) == 1
    assert (first.value, again.value) == (0.8, 0.8)
    assert (first.details["cached"], again.details["cached"]) == (False, True)
    key = judge_cache_key("judge", "rubric-v1", peer.requests[0]["messages"])
    assert set(cache.entries) == {key}
    assert cache.entries[key]["text"] == '{"score": 8, "explanation": "Correct city."}'

    other_answer = Completion(case_id="c1", output="CANDIDATE-TEXT: Melbourne")
    await run('judge:{"model": "judge"}', context, completion=other_answer)
    assert len(peer.requests) == 2  # the key covers the texts judged


async def test_case_without_reference_or_criteria_is_not_sent_to_the_judge(
    provider: OpenAIChatProvider, peer: OpenAIPeer
) -> None:
    bare = Case(id="c1", input="Say something nice.")

    result = await run('judge:{"model": "judge"}', context_for(provider), case=bare)

    assert result.value is None and "no expected answer or criteria" in (result.error or "")
    assert peer.requests == []


# --- pairwise judge -----------------------------------------------------------------------------


async def test_pairwise_asks_in_both_orders_and_keeps_both_verdicts(
    provider: OpenAIChatProvider, scripted: ScriptedJudge
) -> None:
    scripted.reply = prefers_candidate

    result = await run('pairwise_judge:{"model": "judge"}', context_for(provider), production=PRODUCTION)

    assert result.value == 1.0
    orders = {prompt.index("CANDIDATE-TEXT") < prompt.index("PRODUCTION-TEXT") for prompt in scripted.prompts}
    assert len(scripted.prompts) == 2 and orders == {True, False}  # the order was swapped
    verdicts = {v["order"]: v for v in result.details["verdicts"]}
    assert verdicts["production_first"]["winner"] == "B"
    assert verdicts["candidate_first"]["winner"] == "A"
    assert all(v["candidate"] == 1.0 and v["explanation"] == "Canberra is right." for v in verdicts.values())
    assert result.details["consistent"] is True
    assert result.details["prompt_version"] == "pairwise-v1" and result.details["judge_model"] == "judge"


async def test_position_biased_judge_averages_out_to_a_tie(
    provider: OpenAIChatProvider, scripted: ScriptedJudge
) -> None:
    scripted.reply = {"winner": "A", "explanation": "The first one."}

    result = await run('pairwise_judge:{"model": "judge"}', context_for(provider), production=PRODUCTION)

    assert result.value == 0.5
    assert result.details["consistent"] is False
    assert sorted(v["candidate"] for v in result.details["verdicts"]) == [0.0, 1.0]


async def test_pairwise_ties_score_half(provider: OpenAIChatProvider, scripted: ScriptedJudge) -> None:
    scripted.reply = {"winner": "tie", "explanation": "Same."}

    result = await run('pairwise_judge:{"model": "judge"}', context_for(provider), production=PRODUCTION)

    assert result.value == 0.5 and result.details["consistent"] is True


async def test_pairwise_verdicts_are_cached(
    provider: OpenAIChatProvider, peer: OpenAIPeer, scripted: ScriptedJudge
) -> None:
    scripted.reply = prefers_candidate
    context = context_for(provider, MemoryJudgeCache())

    await run('pairwise_judge:{"model": "judge"}', context, production=PRODUCTION)
    again = await run('pairwise_judge:{"model": "judge"}', context, production=PRODUCTION)

    assert len(peer.requests) == 2
    assert again.value == 1.0 and all(v["cached"] for v in again.details["verdicts"])


async def test_pairwise_needs_the_production_answer(provider: OpenAIChatProvider, peer: OpenAIPeer) -> None:
    result = await run('pairwise_judge:{"model": "judge"}', context_for(provider), production=None)

    assert result.value is None and result.error == NEEDS_PRODUCTION
    assert peer.requests == []


async def test_production_that_failed_loses_without_asking(provider: OpenAIChatProvider, peer: OpenAIPeer) -> None:
    failed = Completion(case_id="c1", error="timed out after 60 s", error_kind="timeout")

    result = await run('pairwise_judge:{"model": "judge"}', context_for(provider), production=failed)

    assert result.value == 1.0 and result.details["production_error"] == "timed out after 60 s"
    assert peer.requests == []


async def test_one_unparsable_order_makes_the_comparison_unscorable(
    provider: OpenAIChatProvider, scripted: ScriptedJudge
) -> None:
    scripted.reply = lambda prompt: "no idea" if prompt.index("CANDIDATE-TEXT") < prompt.index("PRODUCTION") else (
        '{"winner": "B", "explanation": "x"}')

    result = await run('pairwise_judge:{"model": "judge"}', context_for(provider), production=PRODUCTION)

    assert result.value is None
    assert result.error == "candidate_first: judge reply names no winner (A, B or tie)"
    assert len(result.details["verdicts"]) == 2


@pytest.mark.parametrize(
    ("reply", "parsed"),
    [
        ('{"winner": "B", "explanation": "better"}', ("B", "better")),
        ('{"winner": "answer a"}', ("A", "")),
        ('Verdict: {"winner": "Tie", "explanation": "same"}', ("tie", "same")),
        ('"winner": "A" since it is right', ("A", "")),
        ('{"winner": "C"}', None),
        ("Both are fine.", None),
    ],
)
def test_pairwise_replies_are_parsed_robustly(reply: str, parsed: tuple[str, str] | None) -> None:
    assert parse_pairwise_reply(reply) == parsed


# --- building judges ----------------------------------------------------------------------------


def test_judge_specs_validate_without_a_context_but_cannot_be_built_without_one() -> None:
    spec = ScorerSpec.parse('judge:{"model": "judge"}')
    composite = ScorerSpec.parse('all_of:{"scorers": ["token_f1", {"name": "judge", "options": {"model": "j"}}]}')

    with pytest.raises(UnknownScorer, match="scorer 'judge' needs a judge model"):
        spec.build()
    with pytest.raises(UnknownScorer, match="scorer 'all_of' needs a judge model"):
        composite.build()
    ScorerSpec.parse("token_f1").build()  # scorers without models still build without a context


async def test_composite_with_a_judge_part_scores_through_the_context(provider: OpenAIChatProvider) -> None:
    spec = 'weighted:{"scorers": ["exact_match", {"name": "judge", "options": {"model": "judge"}}]}'

    result = await run(spec, context_for(provider))

    assert result.value == pytest.approx((0.0 + 0.8) / 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('judge:{"model": ""}', "option 'model' must be a non-empty string"),
        ("judge", "bad options for scorer 'judge'"),  # model is required
        ('judge:{"model": "j", "prompt_version": "rubric-v9"}', "must be one of rubric-v1"),
        ('judge:{"model": "j", "rubric": 3}', "option 'rubric' must be a non-empty string"),
        ('judge:{"model": "j", "context": {}}', "'context' is not an option"),
        ('pairwise_judge:{"model": "j", "prompt_version": "rubric-v1"}', "must be one of pairwise-v1"),
    ],
)
def test_bad_judge_options_are_refused_without_a_context(text: str, message: str) -> None:
    with pytest.raises(UnknownScorer, match=message):
        ScorerSpec.parse(text)


def test_unknown_judge_model_fails_the_build(provider: OpenAIChatProvider) -> None:
    with pytest.raises(ConfigError, match="unknown judge model 'gpt-judge'"):
        ScorerSpec.parse('judge:{"model": "gpt-judge"}').build(context_for(provider))
