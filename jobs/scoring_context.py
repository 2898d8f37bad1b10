"""What judge scorers are built with in the workers: providers for declared models, a stored cache."""

from __future__ import annotations

import asyncio
from typing import Any

from evals.errors import ConfigError
from evals.providers.base import Provider
from evals.scoring.context import ScorerContext
from jobs.providers import ProviderUnavailable, provider_for
from service.storage.catalog import model_spec
from service.storage.db import session_scope
from service.storage.judge_cache import get_verdict, put_verdict


class StoredJudgeCache:
    """JudgeCache on the `judge_cache` table."""

    async def get(self, key: str) -> dict[str, Any] | None:
        return await asyncio.to_thread(self._get, key)

    async def put(self, key: str, value: dict[str, Any]) -> None:
        await asyncio.to_thread(self._put, key, value)

    @staticmethod
    def _get(key: str) -> dict[str, Any] | None:
        with session_scope() as session:
            return get_verdict(session, key=key)

    @staticmethod
    def _put(key: str, value: dict[str, Any]) -> None:
        with session_scope() as session:
            put_verdict(session, key=key, value=value)


class JudgeProviders:
    """Providers for judge models named in scorer options, made once each and closed together."""

    def __init__(self) -> None:
        self._made: dict[str, Provider] = {}

    def __call__(self, name: str) -> Provider:
        if name not in self._made:
            with session_scope() as session:
                spec = model_spec(session, name=name)
            if spec is None:
                raise ConfigError(f"judge model '{name}' is not declared in models; declare it in turnout.yaml")
            try:
                self._made[name] = provider_for(spec)
            except ProviderUnavailable as exc:
                raise ConfigError(f"judge model '{name}': {exc}") from None
        return self._made[name]

    async def aclose(self) -> None:
        for provider in self._made.values():
            await provider.aclose()
        self._made.clear()


def scorer_context() -> tuple[ScorerContext, JudgeProviders]:
    """A context for building scorers, and the provider pool to close once scoring is done."""
    providers = JudgeProviders()
    return ScorerContext(providers=providers, cache=StoredJudgeCache()), providers
