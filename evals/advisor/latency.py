"""Latency against the policy's SLO: p95 of the whole request and p95 of the time to first token.

An in-process vLLM engine (`kind: vllm`) replays the golden set as one batch, so its per-case times
are queueing in that batch, not serving latency: they are reported, never checked. A latency
declared for such a model (`latency_p95_ms`) is checked instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from evals.advisor.policy import LatencySLO
from evals.models import ModelKind


@dataclass(frozen=True)
class LatencyEvidence:
    """What one model's run measured, plus what its deployment declares."""

    p95_ms: float | None = None
    """p95 latency of the run's completions, ms; None without timed completions."""
    ttft_p95_ms: float | None = None
    """p95 time to first token, ms; None when the run did not stream."""
    declared_p95_ms: float | None = None
    """The model's declared serving p95 (`latency_p95_ms`), checked for `kind: vllm` instead of the run's."""


@dataclass(frozen=True)
class LatencyCheck:
    """One model's latency against the SLO."""

    model: str
    """The model's name."""
    p95_ms: float | None
    """The p95 latency the check used (the declared one for `kind: vllm`), ms."""
    ttft_p95_ms: float | None
    """The p95 time to first token the check used, ms."""
    ok: bool
    """False only when a checked bound is broken."""
    reasons: tuple[str, ...]
    """Broken bounds with their numbers, and bounds that could not be checked and why; without the model's
    name, which the advisor puts in front of each."""


def check_latency(*, model: str, kind: ModelKind, evidence: LatencyEvidence, slo: LatencySLO | None) -> LatencyCheck:
    """Check one model's latency against `latency_slo_ms`.

    Args:
        model: The model's name, kept on the check (the reasons leave it to the advisor's prefix).
        kind: How it runs; `vllm` means batch replay, whose times are not serving latency.
        evidence: Measured and declared latencies.
        slo: The policy's bounds; None reports latency without checking it.

    Returns:
        The check; `ok` is True unless a bound that could be checked is broken.
    """
    p95, ttft = evidence.p95_ms, evidence.ttft_p95_ms
    reasons: list[str] = []
    if kind == "vllm":
        p95, ttft = evidence.declared_p95_ms, None
        if slo is not None:
            declared = ("its declared latency_p95_ms is checked instead" if p95 is not None
                        else "declare latency_p95_ms on the model to check it")
            reasons.append(f"runs in-process on vLLM (kind: vllm): the replay is one batch, so its "
                           f"per-case times are queueing, not serving latency, and the latency SLO is not checked "
                           f"on them; {declared}")
    if slo is None:
        return LatencyCheck(model=model, p95_ms=p95, ttft_p95_ms=ttft, ok=True, reasons=tuple(reasons))
    ok = True
    for label, measured, bound in (("p95 latency", p95, slo.p95), ("p95 time to first token", ttft, slo.ttft_p95)):
        if bound is None:
            continue
        if measured is None:
            if kind != "vllm":
                reasons.append(f"no {label} was measured (no timed or streamed completions), "
                               f"so the SLO of {bound:,.0f} ms is not checked")
            continue
        if measured > bound:
            ok = False
            reasons.append(f"{label} {measured:,.0f} ms is above the SLO of {bound:,.0f} ms")
    return LatencyCheck(model=model, p95_ms=p95, ttft_p95_ms=ttft, ok=ok, reasons=tuple(reasons))
