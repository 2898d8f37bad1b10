"""The demo's story as a turnout.yaml: a simulated proprietary API in production, SmolLM2 (real, on this CPU)
and a simulated open model on rented GPUs as candidates, a schedule in accelerated time, and the silent update
of the production model before the last cycle.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import yaml

WATCH = "support-watch"
"""The demo's watch."""
PRODUCTION = "support-api"
"""The production model: a simulated proprietary API (or a real OpenAI model with `--openai`)."""
SMOLLM2 = "smollm2"
"""The real open model, served by llama.cpp on this machine."""
OPEN_GPU = "open-gpu"
"""The simulated open model on rented GPUs."""

MARGIN = 0.1
"""The demo's non-inferiority margin: wide enough for about 30 French cases (a real watch uses 0.02-0.05 with
hundreds of cases)."""
CONFIDENCE = 0.9
"""The two-sided level of the demo's intervals."""
HYSTERESIS = 2
"""Cycles a verdict must hold before it is announced."""
SMOLLM2_SAMPLE = 24
"""Cases SmolLM2 answers each cycle at most (`sample_cases`: the same stratified sample every cycle; 24 are 10
in French, 10 in English and 4 long documents): enough to show it is worse overall and in French. The simulated
models answer every case: the candidate's 30 French pairs are what its non-inferiority at the margin needs."""
SMOLLM2_MIN_SAMPLE = 12
"""The fewest cases SmolLM2 answers on a slow machine (then the period grows instead)."""
TARGET_PERIOD_S = 60
"""The cycle period the sample is sized for: three cycles then take about three minutes."""
SLOWER = 1.35
"""SmolLM2's cases in a cycle against the two measured at the start: a third slower, on a loaded machine."""
OVERHEAD_S = 20.0
"""Scoring, analysis and the drift reports of a cycle on a loaded machine."""
SMOLLM2_MAX_TOKENS = 16
"""SmolLM2's answers are cut here: the references are a few words, and each token costs CPU time."""
INTERVALS_S = (10, 12, 15, 20, 30, 60, 120, 180, 240, 300)
"""Cycle periods a cron line can keep evenly (seconds dividing a minute, or whole minutes dividing an hour)."""

FINGERPRINT = "fp_2026_11_a"
"""The production stand-in's fingerprint until its silent update."""
UPDATED_FINGERPRINT = "fp_2026_12_b"
"""Its fingerprint after the update, which also makes its French worse."""


@dataclass(frozen=True)
class Schedule:
    """Cycles every `period_s` seconds from `first`: the cron line of a daily watch, in accelerated time."""

    first: datetime
    period_s: int

    @property
    def cron(self) -> str:
        """A six-field cron line (leading seconds) firing at `first` and every `period_s` after it."""
        if self.period_s < 60:
            seconds = sorted({(self.first.second + k * self.period_s) % 60 for k in range(60 // self.period_s)})
            return f"{','.join(map(str, seconds))} * * * * *"
        step = self.period_s // 60
        if step == 1:
            return f"{self.first.second} * * * * *"
        minutes = sorted({(self.first.minute + k * step) % 60 for k in range(60 // step)})
        return f"{self.first.second} {','.join(map(str, minutes))} * * * *"

    def slot(self, index: int) -> datetime:
        """The time of cycle *index* (1-based)."""
        return self.first + timedelta(seconds=self.period_s * (index - 1))


def plan_schedule(now: datetime, *, cycle_s: float, lead_s: float = 4.0) -> Schedule:
    """The schedule whose period fits a cycle of *cycle_s* seconds, its first slot *lead_s* from *now*."""
    period = next((p for p in INTERVALS_S if p >= cycle_s), INTERVALS_S[-1])
    start = now + timedelta(seconds=lead_s)
    start = start.replace(microsecond=0) + timedelta(seconds=1)
    return Schedule(first=start, period_s=period)


def cycle_estimate_s(*, cases: int, seconds_per_case: float) -> float:
    """How long a cycle takes: SmolLM2 answers its cases one after another (the simulated models answer
    meanwhile), then scoring, analysis and the drift reports. Generous (`SLOWER`, `OVERHEAD_S`), so that cycles
    do not overlap (the next one waits for its slot)."""
    return math.ceil(cases * seconds_per_case * SLOWER + OVERHEAD_S)


def smollm2_sample(*, seconds_per_case: float, cases: int) -> int:
    """SmolLM2's case sample: the largest, up to `SMOLLM2_SAMPLE`, whose cycle fits `TARGET_PERIOD_S` at the
    measured speed; never below `SMOLLM2_MIN_SAMPLE` (a slower machine gets a longer period instead)."""
    fits = math.floor((TARGET_PERIOD_S - OVERHEAD_S) / (max(seconds_per_case, 1e-3) * SLOWER))
    return min(max(fits, SMOLLM2_MIN_SAMPLE), SMOLLM2_SAMPLE, cases)


def story(*, base_url: str, schedule: Schedule, update_at: datetime, openai_model: str | None = None,
          sample: int = SMOLLM2_SAMPLE) -> dict[str, Any]:
    """The demo's turnout.yaml as data.

    Args:
        base_url: SmolLM2's OpenAI-compatible root.
        schedule: When the cycles fire.
        update_at: When the production stand-in silently changes (between the last two cycles).
        openai_model: A real OpenAI model to put in production instead of the stand-in.
        sample: The cases SmolLM2 answers each cycle (`sample_cases`).
    """
    production: dict[str, Any] = {
        "name": PRODUCTION, "kind": "sim", "model": "frontier-api-2026", "hosting": "api", "residency": "eu",
        "params": {"temperature": 0, "max_tokens": 64},
        "pricing": {"input_per_mtok": 2.5, "output_per_mtok": 10.0},
        "options": {"seed": 7, "accuracy": 0.95, "segments": {"lang:fr": 0.93, "doc:long": 0.92},
                    "latency_ms": {"p50": 900, "p95": 2200}, "fingerprint": FINGERPRINT,
                    "updates": [{"at": update_at.isoformat(), "fingerprint": UPDATED_FINGERPRINT,
                                 "segments": {"lang:fr": 0.6}}]},
    }
    if openai_model is not None:
        production = {"name": PRODUCTION, "kind": "openai", "model": openai_model, "hosting": "api",
                      "base_url": os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"),
                      "api_key_env": "OPENAI_API_KEY", "params": {"temperature": 0, "max_tokens": 64},
                      "max_concurrency": 4}
    models = [
        production,
        {"name": SMOLLM2, "kind": "openai", "base_url": base_url, "model": "smollm2-135m-instruct",
         "hosting": "self_hosted", "residency": "local",
         "params": {"temperature": 0, "max_tokens": SMOLLM2_MAX_TOKENS, "seed": 7},
         "max_concurrency": 1, "timeout_s": 120, "pricing": {"input_per_mtok": 0.0, "output_per_mtok": 0.0}},
        {"name": OPEN_GPU, "kind": "sim", "model": "open-70b-instruct", "hosting": "self_hosted", "residency": "eu",
         "params": {"temperature": 0, "max_tokens": 64}, "max_concurrency": 16,
         "pricing": {"gpu_hour": 1.2, "gpus": 1, "capacity_rps": 8.0},
         "options": {"seed": 7, "accuracy": 0.95, "segments": {"lang:fr": 0.93, "doc:long": 0.9},
                     "latency_ms": {"p50": 700, "p95": 1600}, "fingerprint": "open-70b-v1"}},
    ]
    watch = {
        "name": WATCH, "golden_set": "support", "production": PRODUCTION, "candidates": [SMOLLM2, OPEN_GPU],
        "scorers": [{"name": "contains", "options": {"ignore_case": True}}],
        "sample_cases": {SMOLLM2: sample},
        "schedule": schedule.cron, "timezone": "UTC", "misfire": "skip", "team": "support",
        "policy": {"margin": MARGIN, "confidence": CONFIDENCE, "critical_segments": ["lang:fr"],
                   "hysteresis": HYSTERESIS, "min_saving": 0.2,
                   "volume": {"requests_per_month": 10_000_000, "peak_rps": 12, "input_tokens": 600,
                              "output_tokens": 150},
                   "latency_slo_ms": {"p95": 3000}},
        "drift": {"reference_runs": 3},
    }
    return {"golden_sets": [{"name": "support", "file": "golden/support.jsonl", "privacy": "internal"}],
            "models": models, "watches": [watch]}


HEADER = """\
# The demo's watch (written by `turnout demo`). Production is {production}; the candidates are SmolLM2-135M,
# served by llama.cpp on this machine (real), and a simulated open model on rented GPUs (kind: sim).
# Simulated models answer from the cases' references with the accuracy declared under `options`; they are
# labelled "simulated" wherever they appear. SmolLM2 answers a sample of the cases each cycle (`sample_cases`:
# the same cases every cycle), the other models all of them. The schedule runs a daily watch every {period} s.
"""


def story_yaml(document: dict[str, Any], *, period_s: int, openai_model: str | None) -> str:
    """turnout.yaml text with a header that says what is real and what is simulated."""
    production = (f"the real OpenAI model {openai_model}" if openai_model
                  else "a simulated proprietary API (kind: sim), which changes silently before the last cycle")
    return HEADER.format(production=production, period=period_s) + yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, width=120)
