"""What judge scorers are built with in the workers: providers for declared models, a stored cache.

Judges are models like the others: each is built through the same limits as replay (rpm/tpm, the
pause a server's `Retry-After` asks for, shared through Redis by every worker), priced by its
declaration, and counted against the cycle's `budget_usd`; and before any is called, the privacy
policy is checked for every judge the scorers name.
"""

from __future__ import annotations

import asyncio
from typing import Any

from evals.cost import Budget, CostModel
from evals.errors import ConfigError, PolicyViolation
from evals.limits.breaker import BudgetExceeded
from evals.policy import check_privacy
from evals.providers.base import BatchProvider, Provider
from evals.results import Completion, Request
from evals.scoring.context import ScorerContext
from evals.scoring.judge import judge_models
from evals.scoring.registry import ScorerSpec
from jobs.providers import ProviderUnavailable, provider_for
from jobs.ratelimit import LimitsHub
from service.storage import runs
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


class _MeteredJudge:
    """A judge's provider that reserves each call's estimate on the budget and adds up what calls cost."""

    def __init__(self, provider: Provider, cost: CostModel, pool: JudgeProviders) -> None:
        self._provider = provider
        self._cost = cost
        self._pool = pool

    async def complete(self, request: Request) -> Completion:
        budget = self._pool.budget
        estimate = self._cost.estimate(request)
        if budget is not None and not budget.reserve(estimate):
            refusal = BudgetExceeded(f"judge call not sent: {budget.describe(estimate)}")
            self._pool.refused = self._pool.refused or str(refusal)
            raise refusal  # the scorer records it as "could not score"
        completion: Completion | None = None
        try:
            completion = await self._provider.complete(request)
        finally:
            actual = completion.cost_usd if completion is not None else None
            if budget is not None:
                budget.settle(estimate, actual)
            self._pool.spent_usd += actual or 0.0
        return completion

    async def aclose(self) -> None:
        await self._provider.aclose()


class JudgeProviders:
    """Providers for judge models named in scorer options, made once each and closed together.

    Args:
        hub: The limits every judge call passes through (the same hub replay uses); None gives each
            judge only its own adaptive concurrency.
        budget: What the cycle may still spend; each call reserves its estimate first, and a call that
            would pass it is not sent.
    """

    def __init__(self, *, hub: LimitsHub | None = None, budget: Budget | None = None) -> None:
        self._made: dict[str, Provider] = {}
        self._hub = hub
        self.budget = budget
        self.spent_usd = 0.0
        """What the judge calls made through these providers cost, so far."""
        self.refused: str | None = None
        """Why the first judge call the budget refused was not sent; None while none was."""

    def __call__(self, name: str) -> Provider:
        if name not in self._made:
            with session_scope() as session:
                spec = model_spec(session, name=name)
            if spec is None:
                raise ConfigError(f"judge model '{name}' is not declared in models; declare it in turnout.yaml")
            cost = CostModel.for_spec(spec)
            limits = self._hub.for_model(spec) if self._hub is not None else None
            try:
                provider = provider_for(spec, limits=limits, cost=cost)
            except ProviderUnavailable as exc:
                raise ConfigError(f"judge model '{name}': {exc}") from None
            if isinstance(provider, BatchProvider):
                raise ConfigError(f"judge model '{name}' is kind: {spec.kind}, answered in batches on a GPU worker; "
                                  "a judge is asked one call at a time: serve it over an OpenAI-compatible endpoint "
                                  "(kind: openai)")
            self._made[name] = _MeteredJudge(provider, cost, self)
        return self._made[name]

    def take_spent(self) -> float:
        """What the judge calls cost since the last call of this method (to store with each batch)."""
        spent, self.spent_usd = self.spent_usd, 0.0
        return spent

    async def aclose(self) -> None:
        for provider in self._made.values():
            await provider.aclose()
        self._made.clear()


def scorer_context(*, hub: LimitsHub | None = None, budget: Budget | None = None
                   ) -> tuple[ScorerContext, JudgeProviders]:
    """A context for building scorers, and the provider pool to close once scoring is done.

    Args:
        hub: The limits judge calls pass through, as replay's do.
        budget: What judge calls may spend.
    """
    providers = JudgeProviders(hub=hub, budget=budget)
    return ScorerContext(providers=providers, cache=StoredJudgeCache()), providers


def judge_budget(*, cycle_id: int) -> Budget | None:
    """What the cycle's judge calls may spend: the watch's `budget_usd` less what the cycle spent, or None."""
    with session_scope() as session:
        cycle = runs.get_cycle(session, cycle_id=cycle_id)
        limit = runs.recipe(cycle).watch.budget_usd
        if limit is None:
            return None
        return Budget(limit, spent_usd=runs.spent_usd(cycle, runs.cycle_runs(session, cycle_id=cycle_id)))


def check_judge_privacy(*, cycle_id: int, specs: list[ScorerSpec]) -> None:
    """Refuse to score the cycle with *specs* when a judge they name may not receive its golden set.

    Raises:
        PolicyViolation: naming the judge model and what to change.
    """
    with session_scope() as session:
        cycle = runs.get_cycle(session, cycle_id=cycle_id)
        recipe = runs.recipe(cycle)
        privacy = runs.golden_set_privacy(session, cycle=cycle)
        judges = [spec for name in judge_models(specs) if (spec := model_spec(session, name=name)) is not None]
    violation = check_privacy(watch_name=recipe.watch.name, golden_set=recipe.golden_set, privacy=privacy,
                              models=(), judges=judges, allowed_residencies=recipe.watch.policy.allowed_residencies)
    if violation is not None:
        raise PolicyViolation(violation.reason)
