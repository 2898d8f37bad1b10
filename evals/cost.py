"""What calls cost: token prices for API models, GPU time for self-hosted ones, and run budgets.

API models are priced from `genai-prices` (pydantic's maintained price table), matched by the
endpoint's URL and the model name, unless turnout.yaml gives `pricing.input_per_mtok` /
`output_per_mtok`, which always win. Self-hosted models cost `gpu_hour × gpus` per hour of
measured busy time plus `fixed_monthly` spread over the month's hours; each completion carries
its share of the busy time (`BusyMeter`). Before a call, a self-hosted request is estimated at one
request's share of busy time at the model's throughput: the declared `pricing.capacity_rps`, then
what replay measured on the run's earlier batches.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from evals.models import ModelSpec, Pricing
from evals.results import Request

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4
"""Rough English ratio for estimates made before a call."""
OUTPUT_TOKENS_ESTIMATE = 256
"""Completion tokens assumed before a call when the model's params set no `max_tokens`."""
HOURS_PER_MONTH = 730.0
"""365 × 24 / 12: spreads `fixed_monthly` over busy hours."""

TokenPrice = Callable[[int, int], float]
"""USD for `(input_tokens, output_tokens)`."""


def estimate_tokens(text: str) -> int:
    """Estimate a token count from text length (at least 1)."""
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def max_output_tokens(params: dict[str, Any]) -> int | None:
    """The completion-token cap the model's sampling params set, if any."""
    for key in ("max_completion_tokens", "max_tokens"):
        value = params.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


def estimate_request_tokens(request: Request, output_tokens: int) -> tuple[int, int]:
    """Prompt and completion tokens a request will use at most: prompt chars / 4, and `output_tokens`."""
    chars = sum(len(m.get("content") or "") for m in request.messages)
    return max(1, math.ceil(chars / CHARS_PER_TOKEN)), output_tokens


def self_hosted_cost_usd(pricing: Pricing, busy_s: float) -> float | None:
    """Price busy time on a self-hosted model.

    Args:
        pricing: The model's `gpu_hour`, `gpus` and `fixed_monthly`.
        busy_s: Seconds the model was serving (at least one call in flight).

    Returns:
        `gpu_hour × gpus × hours + fixed_monthly × hours / 730`, or None without GPU prices.
    """
    if pricing.gpu_hour is None and pricing.fixed_monthly is None:
        return None
    hours = busy_s / 3600
    return hours * ((pricing.gpu_hour or 0.0) * (pricing.gpus or 1) + (pricing.fixed_monthly or 0.0) / HOURS_PER_MONTH)


def price_from_table(model: str, base_url: str | None, *, at: datetime | None = None) -> tuple[TokenPrice, str] | None:
    """Look a model up in the genai-prices table.

    Args:
        model: The model name sent to the endpoint.
        base_url: The endpoint; tried first, then the model name alone.
        at: When the calls are made (prices change); now by default.

    Returns:
        A price function and where the price came from, or None when the table has no match.
    """
    return _table_lookup(model, base_url, (at or datetime.now(UTC)).date().isoformat())


@lru_cache(maxsize=256)
def _table_lookup(model: str, base_url: str | None, day: str) -> tuple[TokenPrice, str] | None:
    from decimal import Decimal  # noqa: PLC0415 - genai-prices takes a third of a second to import:

    from genai_prices import Usage, data_snapshot  # noqa: PLC0415 - only models without prices pay it

    snapshot = data_snapshot.get_snapshot()
    found = None
    for url in ([base_url] if base_url else []) + [None]:
        try:
            found = snapshot.find_provider_model(model, None, None, url)
            break
        except LookupError:
            continue
    if found is None:
        return None
    provider, info = found
    prices = info.get_prices(datetime.fromisoformat(day).replace(tzinfo=UTC))
    source = f"genai-prices: {provider.id}/{info.id}"
    per_input, per_output = getattr(prices, "input_mtok", None), getattr(prices, "output_mtok", None)
    if isinstance(per_input, Decimal | None) and isinstance(per_output, Decimal | None):
        flat_in, flat_out = float(per_input or 0) / 1e6, float(per_output or 0) / 1e6  # the common, fast case

        def flat(input_tokens: int, output_tokens: int) -> float:
            return input_tokens * flat_in + output_tokens * flat_out

        return flat, source

    def tiered(input_tokens: int, output_tokens: int) -> float:
        return float(prices.calc_price(Usage(input_tokens=input_tokens, output_tokens=output_tokens))["total_price"])

    return tiered, source


@dataclass(frozen=True)
class CostModel:
    """What one model's calls cost; build it with `for_spec`."""

    token_price: TokenPrice | None = None
    """API models: USD per call from its token counts."""
    busy_usd_per_s: float | None = None
    """Self-hosted models: USD per second of busy time."""
    busy_s_per_request: float | None = None
    """Self-hosted models: busy seconds one request takes at the model's throughput (`1 / capacity_rps`,
    or measured); None while unknown, when a request cannot be priced before it runs."""
    output_tokens_estimate: int = OUTPUT_TOKENS_ESTIMATE
    """Completion tokens assumed before a call (the model's `max_tokens` when it sets one)."""
    source: str = "unpriced"
    """Where the prices came from: `turnout.yaml`, `genai-prices: provider/model`, `self-hosted`."""

    @classmethod
    def for_spec(cls, spec: ModelSpec) -> CostModel:
        """The prices of `spec`: turnout.yaml's token prices, else GPU time, else the price table for APIs."""
        pricing = spec.pricing
        estimate = max_output_tokens(spec.params) or OUTPUT_TOKENS_ESTIMATE
        if pricing.input_per_mtok is not None or pricing.output_per_mtok is not None:
            return cls(token_price=_declared(pricing), output_tokens_estimate=estimate, source="turnout.yaml")
        busy = self_hosted_cost_usd(pricing, 1.0)
        if busy is not None:
            per_request = None if pricing.capacity_rps is None else 1.0 / pricing.capacity_rps
            return cls(busy_usd_per_s=busy, busy_s_per_request=per_request, output_tokens_estimate=estimate,
                       source="self-hosted")
        if spec.hosting == "api":
            found = price_from_table(spec.model, spec.base_url)
            if found is not None:
                return cls(token_price=found[0], output_tokens_estimate=estimate, source=found[1])
            log.info("no price for model %r (%s) in genai-prices; declare `pricing` in turnout.yaml",
                     spec.model, spec.base_url)
        return cls(output_tokens_estimate=estimate)

    @property
    def self_hosted(self) -> bool:
        """True when calls are priced by busy time, known only once they finish."""
        return self.busy_usd_per_s is not None

    def token_cost(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        """USD for one call's tokens, or None when the model has no token prices."""
        if self.token_price is None:
            return None
        return self.token_price(input_tokens or 0, output_tokens or 0)

    def busy_cost(self, busy_s: float) -> float | None:
        """USD for `busy_s` seconds of a self-hosted model, or None for other models."""
        return None if self.busy_usd_per_s is None else busy_s * self.busy_usd_per_s

    def with_throughput(self, requests_per_s: float) -> CostModel:
        """These prices with the throughput replay measured, which estimates the next requests."""
        return replace(self, busy_s_per_request=1.0 / requests_per_s) if requests_per_s > 0 else self

    def estimate(self, request: Request) -> float:
        """The most a request should cost, before it is sent (0 when unknown in advance).

        Token-priced models: its prompt estimate and `max_tokens` at the token prices. Self-hosted
        models: one request's busy time at the known throughput, 0 while none is known.
        """
        if self.token_price is not None:
            return self.token_price(*estimate_request_tokens(request, self.output_tokens_estimate))
        if self.busy_usd_per_s is not None and self.busy_s_per_request is not None:
            return self.busy_usd_per_s * self.busy_s_per_request
        return 0.0


def _declared(pricing: Pricing) -> TokenPrice:
    per_in, per_out = (pricing.input_per_mtok or 0.0) / 1e6, (pricing.output_per_mtok or 0.0) / 1e6

    def price(input_tokens: int, output_tokens: int) -> float:
        return input_tokens * per_in + output_tokens * per_out

    return price


def share_by_busy_time(run_cost_usd: float, busy_shares_s: Sequence[float]) -> list[float]:
    """Split a run's cost over its completions in proportion to their busy-time shares."""
    total = sum(busy_shares_s)
    if total <= 0:
        return [run_cost_usd / len(busy_shares_s)] * len(busy_shares_s) if busy_shares_s else []
    return [run_cost_usd * share / total for share in busy_shares_s]


class BusyMeter:
    """Measures busy time (at least one call in flight) and each call's share of it.

    While k calls are in flight, each is charged 1/k of the elapsed time, so the shares of all
    calls add up to the busy time exactly. O(1) per call: a running integral of 1/k.

    Args:
        clock: Monotonic seconds (tests inject one).
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._in_flight = 0
        self._last = 0.0
        self._per_call = 0.0
        self.busy_s = 0.0
        """Total seconds with at least one call in flight."""

    def _advance(self) -> None:
        now = self._clock()
        if self._in_flight:
            elapsed = now - self._last
            self.busy_s += elapsed
            self._per_call += elapsed / self._in_flight
        self._last = now

    def start(self) -> float:
        """A call starts; keep the returned mark for `finish`."""
        self._advance()
        self._in_flight += 1
        return self._per_call

    def finish(self, mark: float) -> float:
        """The call started at `mark` ends; returns its share of the busy time in seconds."""
        self._advance()
        self._in_flight -= 1
        return self._per_call - mark


class Budget:
    """A spending limit shared by the runs of a cycle; thread- and task-safe.

    Replay reserves a request's estimated cost before sending it and settles the real cost
    when it finishes, so concurrent senders together never plan past the limit.

    Args:
        limit_usd: The most that may be spent (the watch's `budget_usd` less what the cycle spent).
        spent_usd: What was already spent against it.
    """

    def __init__(self, limit_usd: float, *, spent_usd: float = 0.0) -> None:
        self.limit_usd = limit_usd
        self._spent = spent_usd
        self._reserved = 0.0
        self._lock = threading.Lock()

    @property
    def spent_usd(self) -> float:
        with self._lock:
            return self._spent

    def reserve(self, estimate_usd: float) -> bool:
        """Set `estimate_usd` aside for one request; False (nothing reserved) when it would not fit."""
        with self._lock:
            if self._spent + self._reserved + estimate_usd > self.limit_usd:
                return False
            self._reserved += estimate_usd
            return True

    def reserve_many(self, estimates_usd: Sequence[float]) -> int:
        """Set aside the longest prefix of `estimates_usd` that fits; returns how many were reserved."""
        with self._lock:
            room = self.limit_usd - self._spent - self._reserved
            taken, total = 0, 0.0
            for estimate in estimates_usd:
                if total + estimate > room:
                    break
                total += estimate
                taken += 1
            self._reserved += total
            return taken

    def settle(self, estimate_usd: float, actual_usd: float | None) -> None:
        """Replace a reservation with what the request really cost."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - estimate_usd)
            self._spent += actual_usd or 0.0

    def describe(self, next_estimate_usd: float) -> str:
        """Why a request was refused, for the run's reason."""
        with self._lock:
            spent, reserved = self._spent, self._reserved
        return (f"${spent:.4f} of the ${self.limit_usd:.4f} budget spent (${reserved:.4f} more in flight); "
                f"the next request would cost about ${next_estimate_usd:.4f}")
