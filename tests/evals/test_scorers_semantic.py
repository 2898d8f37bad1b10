"""Semantic similarity with the real all-MiniLM-L6-v2 encoder, loaded offline from its package."""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

import pytest

from evals.cases import Case
from evals.errors import UnknownScorer
from evals.results import Completion, Score
from evals.scoring import ScorerSpec, semantic
from evals.scoring.apply import score_completion

needs_embeddings = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None,
    reason="sentence-transformers is not installed (pip install 'turnout[embeddings]')",
)

EXPECTED = "The meeting was moved to Thursday afternoon because the manager is travelling."
PARAPHRASE = "Since the manager is away on a trip, the meeting now takes place on Thursday afternoon."
UNRELATED = "Bananas are a good source of potassium and are easy to carry."


async def score(answer: str, **options: Any) -> Score:
    case = Case(id="c1", input="When is the meeting?", expected=EXPECTED)
    completion = Completion(case_id="c1", output=answer)
    return await score_completion(ScorerSpec("semantic_similarity", options).build(), case, completion, None)


@needs_embeddings
async def test_a_paraphrase_scores_higher_than_unrelated_text() -> None:
    paraphrase = await score(PARAPHRASE)
    unrelated = await score(UNRELATED)
    same = await score(EXPECTED)

    assert paraphrase.error is None, paraphrase.error
    assert paraphrase.value is not None and unrelated.value is not None and same.value is not None
    assert same.value == pytest.approx(1.0, abs=1e-4)
    assert paraphrase.value > 0.6 > 0.2 > unrelated.value
    assert paraphrase.details["model"] == "sentence-transformers/all-MiniLM-L6-v2"


@needs_embeddings
async def test_threshold_turns_the_cosine_into_pass_fail() -> None:
    passed = await score(PARAPHRASE, threshold=0.5)
    failed = await score(UNRELATED, threshold=0.5)

    assert (passed.value, failed.value) == (1.0, 0.0)
    assert failed.details["cosine"] < 0.5 <= passed.details["cosine"]


@needs_embeddings
async def test_encoding_runs_off_the_event_loop() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await score(PARAPHRASE + " (fresh text)")
    task.cancel()

    assert ticks > 10  # a blocking encoder would not have let the ticker run at all


def test_missing_embedding_packages_tell_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "REQUIRED_PACKAGES", ("torch", "turnout_no_such_package"))

    with pytest.raises(UnknownScorer) as raised:
        ScorerSpec.parse("semantic_similarity")

    assert "turnout_no_such_package" in str(raised.value)
    assert "pip install 'turnout[embeddings]'" in str(raised.value)


def test_threshold_must_be_a_cosine() -> None:
    with pytest.raises(UnknownScorer, match="option 'threshold' must be a cosine between -1 and 1"):
        ScorerSpec.parse('semantic_similarity:{"threshold": 2}')
