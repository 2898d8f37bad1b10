"""Judge models for scorers come from the declared models in the store."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from evals.config import load_config
from evals.errors import ConfigError
from evals.results import Request
from jobs.scoring_context import scorer_context
from service.storage import catalog
from service.storage.db import session_scope
from tests.peers.openai_peer import OpenAIPeer


def test_a_judge_model_is_the_declared_model_and_an_undeclared_one_is_refused(
        applied: Path, peers: tuple[OpenAIPeer, OpenAIPeer]) -> None:
    context, judges = scorer_context()

    async def ask(name: str) -> str | None:
        provider = context.providers(name)
        completion = await provider.complete(Request(case_id="q", repetition=0,
                                                     messages=[{"role": "user", "content": "Hi\nANSWER: yes"}]))
        return completion.output

    try:
        # when a scorer asks for the declared model 'cand', it talks to that model's endpoint
        assert asyncio.run(ask("cand")) == "yes"
        assert peers[1].requests and not peers[0].requests
        # and a model that is not declared is a config error naming it
        with pytest.raises(ConfigError, match="judge model 'gpt-judge' is not declared in models"):
            context.providers("gpt-judge")
    finally:
        asyncio.run(judges.aclose())


def test_a_pruned_model_is_no_longer_a_judge(applied: Path) -> None:
    # given the model 'cand' removed from turnout.yaml and pruned
    config = load_config(applied)
    with session_scope() as session:
        assert catalog.model_spec(session, name="cand") is not None
        kept = replace(config, models={"prod": config.models["prod"]}, watches={})
        catalog.apply_config(session, config=kept, prune=True)
    with session_scope() as session:
        # then storage no longer finds it, and a scorer cannot use it
        assert catalog.model_spec(session, name="cand") is None
        assert catalog.model_spec(session, name="prod") == config.models["prod"]
    context, judges = scorer_context()
    with pytest.raises(ConfigError, match="judge model 'cand' is not declared"):
        context.providers("cand")
    asyncio.run(judges.aclose())
