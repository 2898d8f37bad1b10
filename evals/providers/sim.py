"""A simulated model (`kind: sim`): a `BatchProvider` that answers from the case, for the offline demo and
load tests. Its outputs are labelled simulated wherever they appear (`evals.models.display_name`).

Each answer is drawn from a hash of the model's difficulty seed, the case id and the repetition (and the
cycle, when `params.temperature` is above 0: a sampled model answers anew each cycle, a greedy one does
not), so the same inputs give the same answers on any machine. With probability p(segment) the answer is
the case's reference; otherwise it is a plausible wrong answer: another case's reference from the same
call, or a polite non-answer, never one that contains the reference.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from statistics import NormalDist

from evals.cases import Case
from evals.cost import CostModel, max_output_tokens
from evals.models import ModelSpec
from evals.providers.sim_options import SimOptions, SimState, sim_options
from evals.results import Completion, ErrorKind, Request

NON_ANSWER = "I'm sorry, I can't help with that request. Please contact our support team."
"""The wrong answer when no other case's reference will do."""

_Z95 = NormalDist().inv_cdf(0.95)


def unit(*parts: object) -> float:
    """A number in [0, 1) fixed by *parts* (the same on every machine and Python version)."""
    digest = hashlib.blake2b(":".join(str(part) for part in parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class SimProvider:
    """A simulated model answering every request of a batch at once.

    Args:
        spec: The model (`kind: sim`); its `options` are checked here as at `turnout apply`.
        cost: Its prices: token prices price each answer; GPU-hour prices its simulated busy time.
        cycle: The cycle answered, which a sampled model (`params.temperature` > 0) draws anew.
        now: The clock that decides which `updates` have happened (UTC); the pipeline gives the cycle's time.
    """

    def __init__(self, spec: ModelSpec, *, cost: CostModel | None = None, cycle: int | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.spec = spec
        self.options: SimOptions = sim_options(spec.options)
        self.cost = cost if cost is not None else CostModel.for_spec(spec)
        temperature = spec.params.get("temperature", 0)
        self.cycle = cycle if isinstance(temperature, int | float) and temperature > 0 else None
        self._now = now or (lambda: datetime.now(UTC))

    async def complete_batch(self, requests: Sequence[Request]) -> list[Completion]:
        """One completion per request, in order; waits `time_scale` × the simulated busy time."""
        state = self.options.at(self._now())
        references = [r.case.expected for r in requests if r.case is not None and r.case.expected]
        completions = [self._answer(request, state, references) for request in requests]
        busy_s = sum((c.latency_ms or 0.0) for c in completions) / 1000 / self.spec.max_concurrency
        if self.options.time_scale > 0 and busy_s > 0:
            await asyncio.sleep(busy_s * self.options.time_scale)
        return completions

    async def aclose(self) -> None:
        return None

    def _key(self, request: Request) -> tuple[object, ...]:
        return (self.options.seed, request.case_id, request.repetition, self.cycle)

    def _answer(self, request: Request, state: SimState, references: list[str]) -> Completion:
        key = self._key(request)
        prompt_chars = sum(len(message.get("content", "")) for message in request.messages)
        input_tokens = max(1, math.ceil(prompt_chars / self.options.chars_per_token))
        base = Completion(case_id=request.case_id, repetition=request.repetition, fingerprint=state.fingerprint,
                          served_model=self.spec.model)
        limit = max_output_tokens(self.spec.params)
        window = self.spec.context_window
        if window is not None and input_tokens + (limit or 0) > window:
            return replace(base, error=f"simulated: the prompt ({input_tokens} tokens) and max_tokens ({limit or 0}) "
                                       f"exceed the context window of {window} tokens", error_kind="context_length")
        if self.options.error_rate and unit(*key, self.spec.name, "error") < self.options.error_rate:
            server: ErrorKind = "server"
            retried = (server,) * self.spec.max_retries
            return replace(base, error="simulated server error (options.error_rate)", error_kind="server",
                           attempts=self.spec.max_retries + 1, retried=retried)
        output = self._output(request.case, key, state, references)
        output_tokens = max(1, math.ceil(len(output) / self.options.chars_per_token))
        if limit is not None and output_tokens > limit:
            output = output[: int(limit * self.options.chars_per_token)]
            output_tokens = limit
        latency_ms = self._latency_ms(key)
        return replace(base, output=output, latency_ms=latency_ms,
                       ttft_ms=latency_ms * self.options.latency_ms.ttft_share,
                       input_tokens=input_tokens, output_tokens=output_tokens,
                       finish_reason="length" if output_tokens == limit else "stop",
                       cost_usd=self._cost(input_tokens, output_tokens, latency_ms))

    def _output(self, case: Case | None, key: tuple[object, ...], state: SimState, references: list[str]) -> str:
        if case is None or not case.expected:
            return NON_ANSWER  # nothing to be right about: a judge's question, a case without a reference
        # The draw leaves the model's name out: models with one seed find the same cases hard.
        if unit(*key, "correct") < state.p_correct(case.tags):
            return case.expected
        wanted = case.expected.casefold()
        wrong = [text for text in references if wanted not in text.casefold()]
        if not wrong:
            return NON_ANSWER
        return wrong[int(unit(*key, state.version, "wrong") * len(wrong))]

    def _latency_ms(self, key: tuple[object, ...]) -> float:
        latency = self.options.latency_ms
        sigma = math.log(latency.p95 / latency.p50) / _Z95
        u = min(max(unit(*key, self.spec.name, "latency"), 1e-12), 1 - 1e-12)
        return latency.p50 * math.exp(sigma * NormalDist().inv_cdf(u))

    def _cost(self, input_tokens: int, output_tokens: int, latency_ms: float) -> float | None:
        priced = self.cost.token_cost(input_tokens, output_tokens)
        if priced is not None:
            return priced
        # Self-hosted: the replica's time this answer held one of its `max_concurrency` slots.
        return self.cost.busy_cost(latency_ms / 1000 / self.spec.max_concurrency)
