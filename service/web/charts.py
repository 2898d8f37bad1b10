"""Chart data for the pages: plain JSON the vendored uPlot draws (static/charts.js), and sparklines
drawn on the server as SVG polylines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.storage.watch_history import WatchHistoryPublic
from service.storage.public import RecommendationPublic


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _models(history: WatchHistoryPublic) -> list[str]:
    seen: dict[str, None] = {}
    for cycle in history.cycles:
        for run in sorted(cycle.runs, key=lambda r: r.role != "production"):
            seen.setdefault(run.model, None)
    return list(seen)


def _per_model(history: WatchHistoryPublic, field: str) -> dict[str, list[float | None]]:
    out: dict[str, list[float | None]] = {}
    for model in _models(history):
        values: list[float | None] = []
        for cycle in history.cycles:
            run = next((r for r in cycle.runs if r.model == model), None)
            values.append(None if run is None else getattr(run, field))
        out[model] = values
    return out


def quality_chart(history: WatchHistoryPublic) -> dict[str, Any]:
    """The primary score per model over cycles, each with its interval as a band."""
    x = [_epoch(cycle.created_at) for cycle in history.cycles]
    means, lows, highs = (_per_model(history, field) for field in ("mean", "ci_low", "ci_high"))
    series = [{"label": model, "values": means[model], "band": [lows[model], highs[model]]} for model in means]
    label = history.cycles[-1].primary_scorer if history.cycles else "score"
    return {"title": f"{label} — {history.segment or 'all cases'}", "x": x, "xKind": "time", "yLabel": label,
            "series": series}


def latency_chart(history: WatchHistoryPublic, *, slo_p95_ms: float | None) -> dict[str, Any]:
    """p50 and p95 latency per model over cycles, with the SLO as a flat line."""
    x = [_epoch(cycle.created_at) for cycle in history.cycles]
    series: list[dict[str, Any]] = []
    for field, suffix in (("latency_p50_ms", "p50"), ("latency_p95_ms", "p95")):
        for model, values in _per_model(history, field).items():
            series.append({"label": f"{model} {suffix}", "values": values, "dash": suffix == "p50"})
    if slo_p95_ms is not None:
        series.append({"label": "SLO p95", "values": [slo_p95_ms] * len(x), "dash": True})
    return {"title": "Latency (ms)", "x": x, "xKind": "time", "yLabel": "ms", "series": series}


def ttft_chart(recommendations: list[RecommendationPublic]) -> dict[str, Any]:
    """Time to first token (p95) of production and the focus candidate, from each recommendation's evidence."""
    ordered = sorted(recommendations, key=lambda r: r.cycle_id)
    x = [_epoch(rec.updated_at) for rec in ordered]
    latency = [rec.document.get("latency") or {} for rec in ordered]
    series: list[dict[str, Any]] = [
        {"label": "production TTFT p95", "values": [item.get("production_ttft_p95_ms") for item in latency]},
        {"label": "candidate TTFT p95", "values": [item.get("candidate_ttft_p95_ms") for item in latency]}]
    slo = next((item.get("slo_ttft_p95_ms") for item in reversed(latency) if item.get("slo_ttft_p95_ms")), None)
    if slo is not None:
        series.append({"label": "SLO TTFT p95", "values": [slo] * len(x), "dash": True})
    return {"title": "Time to first token (ms)", "x": x, "xKind": "time", "yLabel": "ms", "series": series}


def cost_chart(history: WatchHistoryPublic) -> dict[str, Any]:
    """What each cycle cost, per model."""
    x = [_epoch(cycle.created_at) for cycle in history.cycles]
    series = [{"label": model, "values": values} for model, values in _per_model(history, "cost_usd").items()]
    return {"title": "Cost per cycle (USD)", "x": x, "xKind": "time", "yLabel": "USD", "series": series}


def has_points(chart: dict[str, Any] | None) -> bool:
    """True when some series of *chart* has a value to draw."""
    return bool(chart) and any(v is not None for s in chart["series"] for v in s["values"])  # type: ignore[index]


def sparkline(values: list[float | None], *, width: int = 120, height: int = 28) -> str | None:
    """The `points` of an SVG polyline through *values* (None values skipped), or None without two."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 2:
        return None
    low, high = min(v for _, v in known), max(v for _, v in known)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}" for i, v in known)
