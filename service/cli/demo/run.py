"""The demo from start to end: model server, workspace, cycles fired by the scheduler, the summary."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from evals.config import load_config
from service.cli import ops
from service.cli.demo import elapsed, golden, progress, story, summary
from service.cli.local_model import LocalModel, died, run_smollm2
from service.settings import get_settings
from service.storage import catalog, migrate
from service.storage.db import session_scope

WORKER_THREADS = 4
"""Runs of one cycle replay side by side; the analysis step of one cycle can overlap the next's replay."""
TIMEOUT_FACTOR = 3.0
"""The demo gives up waiting after this many times its planned duration, plus `TIMEOUT_EXTRA_S` (a loaded
machine analyses slowly); the tables say where it stopped."""
TIMEOUT_EXTRA_S = 900.0


def seconds_per_case(server: LocalModel) -> float:
    """SmolLM2's time for a typical case here, measured on two of the golden set's prompts."""
    cases = [golden.demo_cases()[1], golden.demo_cases()[-1]]  # a short French case, a long document
    took = []
    for case in cases:
        messages = [dict(case["input"][0]), {"role": "user", "content": f"{case['context']}\n\n"
                                                                         f"{case['input'][1]['content']}"}]
        body = json.dumps({"model": server.model, "messages": messages, "max_tokens": story.SMOLLM2_MAX_TOKENS,
                           "temperature": 0})
        request = urllib.request.Request(f"{server.base_url}/chat/completions", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        start = time.monotonic()
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
        took.append(time.monotonic() - start)
    return sum(took) / len(took)


def play(*, workdir: Path, cycles: int, openai_model: str | None, console: Console, support_pairs: int | None,
         started: float) -> int:
    """Run the demo in *workdir*; returns the exit status."""
    migrate.upgrade()
    config_path = workdir / "turnout.yaml"
    n_cases = golden.write_golden_set(workdir / "golden" / "support.jsonl", limit=support_pairs)
    console.print(f"[bold]turnout demo[/] in {workdir} (SQLite, in-process worker and scheduler, no network)")
    console.print("starting the local model server: SmolLM2-135M-Instruct on llama.cpp, on this CPU")
    with run_smollm2(log=workdir / "llama-server.log") as server:
        per_case = seconds_per_case(server)
        with ops.embedded(concurrency=WORKER_THREADS, log=False) as scheduler:
            # The schedule is planned once the scheduler runs, so its first slot cannot pass unseen.
            sample = story.smollm2_sample(seconds_per_case=per_case, cases=n_cases)
            schedule = story.plan_schedule(datetime.now(UTC), cycle_s=story.cycle_estimate_s(
                cases=sample, seconds_per_case=per_case))
            update_at = schedule.slot(cycles) - timedelta(seconds=schedule.period_s / 2)
            document = story.story(base_url=server.base_url, schedule=schedule, update_at=update_at,
                                   openai_model=openai_model, sample=sample)
            config_path.write_text(story.story_yaml(document, period_s=schedule.period_s,
                                                    openai_model=openai_model), encoding="utf-8")
            config = load_config(config_path)
            with session_scope() as session:
                catalog.apply_config(session, config=config, prune=False)
                watch_id = next(w.id or 0 for w in catalog.list_watches(session) if w.name == story.WATCH)
            _tell_story(console, n_cases=n_cases, sample=sample, per_case=per_case, schedule=schedule,
                        cycles=cycles, update_at=update_at, openai_model=openai_model, server=server)
            planned_s = (schedule.slot(cycles) - datetime.now(UTC)).total_seconds() + schedule.period_s
            seen = progress.follow(watch=story.WATCH, cycles=cycles, stop_scheduling=scheduler.stop,
                                   next_slot=schedule.slot, console=console,
                                   timeout_s=planned_s * TIMEOUT_FACTOR + TIMEOUT_EXTRA_S)
        if server.process.poll() is not None:
            console.print(f"[bold red]error:[/] {died(server.process, server.log)}", markup=True)
            return 1
    if len(seen) < cycles or any(cycle.state not in progress.FINAL for cycle in seen):
        console.print(f"[bold red]error:[/] only {len(seen)} of {cycles} cycles fired or finished in time; "
                      f"`TURNOUT_DATABASE_URL={get_settings().database_url} turnout status` shows them", markup=True)
        return 1
    last = seen[-1].cycle_id
    console.rule("the last cycle")
    summary.show_cycle(console, cycle_id=last)
    console.rule("recommendation")
    summary.show_recommendation(console, watch=story.WATCH)
    console.rule("drift")
    report = summary.show_drift(console, watch=story.WATCH, cycle_id=last, model=story.PRODUCTION, workdir=workdir)
    console.rule("alerts")
    alerts, message = summary.write_alerts(console, watch_id=watch_id, workdir=workdir)
    console.rule("files")
    for label, path in (("turnout.yaml", config_path), ("golden set", workdir / "golden" / "support.jsonl"),
                        ("drift report", report), ("Slack message (Block Kit)", message)):
        if path is not None:
            console.print(f"  {label}: {path}", markup=False)
    if alerts:
        console.print(f"  every alert: {alerts[0].parent}/", markup=False)
    console.print(f"  the same data: TURNOUT_DATABASE_URL={get_settings().database_url} turnout advise "
                  f"{story.WATCH} | turnout drift {story.WATCH} | turnout api (or `turnout demo --serve`)",
                  markup=False)
    console.print(f"[bold]demo finished in {elapsed(started)}[/]")
    return 0


def _tell_story(console: Console, *, n_cases: int, sample: int, per_case: float, schedule: story.Schedule,
                cycles: int, update_at: datetime, openai_model: str | None, server: LocalModel) -> None:
    production = (f"{story.PRODUCTION}: the real OpenAI model {openai_model}" if openai_model else
                  f"{story.PRODUCTION} (simulated): a proprietary API stand-in, kind: sim, priced per token")
    console.print(f"  SmolLM2 answers at {server.base_url}, {per_case:.2f} s a case here")
    console.print(f"  golden set: {n_cases} customer-support cases (English and French, long documents in clusters); "
                  f"SmolLM2 answers a sample of {sample} of them each cycle (the same cases every cycle: "
                  "sample_cases in turnout.yaml, sized for its speed here), the simulated models all of them")
    console.print(f"  production: {production}")
    console.print(f"  candidates: {story.SMOLLM2} (real, on this CPU) and {story.OPEN_GPU} (simulated): an open "
                  "model on rented GPUs, kind: sim, priced per GPU-hour")
    console.print(f"  policy: margin {story.MARGIN} at {story.CONFIDENCE:.0%} confidence (a demo margin, wide "
                  f"enough for this size; real watches use 0.02-0.05 with hundreds of cases), lang:fr critical, "
                  f"hysteresis {story.HYSTERESIS}")
    console.print(f"  schedule: `{schedule.cron}` — a daily watch in accelerated time, a cycle every "
                  f"{schedule.period_s} s, {cycles} cycles from {schedule.first:%H:%M:%S} UTC")
    if not openai_model:
        console.print(f"  at {update_at:%H:%M:%S} UTC, before cycle {cycles}, {story.PRODUCTION} (simulated) changes "
                      f"silently: new fingerprint, worse French")
