"""Chart data for the pages: plain JSON the vendored uPlot draws (static/charts.js), from the points
`service.storage.series.metric_series` reads, and sparklines drawn on the server as SVG polylines."""

from __future__ import annotations

from typing import Any

from service.storage.series import MetricPointPublic, MetricSeriesPublic


def _grid(series: MetricSeriesPublic) -> tuple[list[float], dict[str, dict[int, MetricPointPublic]]]:
    """Cycle times (x) and, per model (production first), its point of each cycle."""
    cycles: dict[int, float] = {}
    models: dict[str, dict[int, MetricPointPublic]] = {}
    for point in sorted(series.points, key=lambda p: (p.role != "production", p.cycle_id)):
        cycles.setdefault(point.cycle_id, point.at.timestamp())
        models.setdefault(point.model, {})[point.cycle_id] = point
    order = sorted(cycles, key=lambda cycle_id: (cycles[cycle_id], cycle_id))
    return [cycles[c] for c in order], {m: {i: pts[c] for i, c in enumerate(order) if c in pts}
                                        for m, pts in models.items()}


def _values(points: dict[int, MetricPointPublic], n: int, field: str) -> list[float | None]:
    return [getattr(points[i], field) if i in points else None for i in range(n)]


def quality_chart(series: MetricSeriesPublic, *, scorer: str) -> dict[str, Any]:
    """The primary score per model over cycles, each with its interval as a band."""
    x, models = _grid(series)
    lines = [{"label": model, "values": _values(points, len(x), "score"),
              "band": [_values(points, len(x), "ci_low"), _values(points, len(x), "ci_high")]}
             for model, points in models.items()]
    return {"title": f"{scorer} — {series.segment or 'all cases'}", "x": x, "xKind": "time", "yLabel": scorer,
            "series": lines}


def latency_chart(series: MetricSeriesPublic, *, slo_p95_ms: float | None) -> dict[str, Any]:
    """p50 and p95 latency per model over cycles, with the SLO as a flat line."""
    x, models = _grid(series)
    lines: list[dict[str, Any]] = []
    for field, suffix in (("latency_p50_ms", "p50"), ("latency_p95_ms", "p95")):
        for model, points in models.items():
            lines.append({"label": f"{model} {suffix}", "values": _values(points, len(x), field),
                          "dash": suffix == "p50"})
    if slo_p95_ms is not None:
        lines.append({"label": "SLO p95", "values": [slo_p95_ms] * len(x), "dash": True})
    return {"title": "Latency (ms)", "x": x, "xKind": "time", "yLabel": "ms", "series": lines}


def ttft_chart(series: MetricSeriesPublic, *, slo_ttft_ms: float | None) -> dict[str, Any]:
    """Time to first token (p95) per model over cycles, with the SLO."""
    x, models = _grid(series)
    lines: list[dict[str, Any]] = [{"label": f"{model} TTFT p95", "values": _values(points, len(x), "ttft_p95_ms")}
                                   for model, points in models.items()]
    if slo_ttft_ms is not None:
        lines.append({"label": "SLO TTFT p95", "values": [slo_ttft_ms] * len(x), "dash": True})
    return {"title": "Time to first token (ms)", "x": x, "xKind": "time", "yLabel": "ms", "series": lines}


def cost_chart(series: MetricSeriesPublic) -> dict[str, Any]:
    """What each cycle's run of each model cost."""
    x, models = _grid(series)
    lines = [{"label": model, "values": _values(points, len(x), "cost_usd")} for model, points in models.items()]
    return {"title": "Cost per cycle (USD)", "x": x, "xKind": "time", "yLabel": "USD", "series": lines}


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
