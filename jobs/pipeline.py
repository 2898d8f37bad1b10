"""The pipeline steps as plain functions: `turnout run` calls them inline, Celery tasks call the same.

Each step reads what is left to do from the store, calls `evals`, and writes each batch as it
finishes, so running a step twice (a retry, a re-delivered message) does no work twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from evals.providers.base import Provider, Request
from evals.prompts import build_messages
from evals.replay import replay
from evals.results import Score
from evals.scoring.apply import score_completion
from evals.scoring.registry import ScorerSpec
from jobs.providers import ProviderUnavailable, provider_for
from service.settings import get_settings
from service.storage import results, runs
from service.storage.db import session_scope

REPLAY_BATCH_SIZE = 64
"""Completions written per transaction: large enough that a write costs little per case, small
enough that a crash loses at most a few seconds of answers."""

SCORE_BATCH_SIZE = 256
"""Scores written per transaction."""

Progress = Callable[[str, int, int], None]
"""`progress(label, done, total)`: called as work finishes (e.g. to draw a progress bar)."""


def start_cycle(*, watch: str, trigger: str, scheduled_for: datetime | None = None) -> int:
    """Create a cycle of *watch* with its runs queued; returns its id."""
    with session_scope() as session:
        cycle = runs.create_cycle(session, watch_name=watch, trigger=trigger, scheduled_for=scheduled_for)
        assert cycle.id is not None
        return cycle.id


async def replay_run(run_id: int, *, progress: Progress | None = None,
                     make_provider: Callable[..., Provider] = provider_for) -> None:
    """Replay the cases run *run_id* has not answered yet and store each batch as it finishes."""
    with session_scope() as session:
        plan = runs.plan_replay(session, run_id=run_id)
        if plan is None:
            return
        runs.set_run_state(session, run_id=run_id, state="running")
    label = plan.model.name
    try:
        provider = make_provider(plan.model)
    except ProviderUnavailable as exc:
        with session_scope() as session:
            runs.set_run_state(session, run_id=run_id, state="failed", reason=str(exc))
        return
    rows = {(item.case.id, repetition): item.row_id for item, repetition in plan.todo}
    requests = (Request(case_id=item.case.id, repetition=repetition,
                        messages=build_messages(item.case, plan.template)) for item, repetition in plan.todo)
    done = plan.n_total - len(plan.todo)
    if progress:
        progress(label, done, plan.n_total)
    try:
        async for batch in replay(requests, provider=provider, max_concurrency=plan.model.max_concurrency,
                                  batch_size=REPLAY_BATCH_SIZE):
            with session_scope() as session:
                results.save_completions(session, run_id=run_id, completions=[
                    (rows[(c.case_id, c.repetition)], c) for c in batch])
                runs.refresh_run_counts(session, run_id=run_id)
            done += len(batch)
            if progress:
                progress(label, done, plan.n_total)
    finally:
        await provider.aclose()
    with session_scope() as session:
        run = runs.refresh_run_counts(session, run_id=run_id)
        if run.n_done < run.n_total:
            return  # cancelled or cut short: a later delivery finishes it
        reason = None
        state = "finished"
        if run.n_total and run.n_errors == run.n_total:
            state, reason = "failed", f"all {run.n_total} cases failed; see `turnout results {run_id}`"
        runs.set_run_state(session, run_id=run_id, state=state, reason=reason)


async def score_cycle(cycle_id: int, *, specs: list[ScorerSpec] | None = None, run_ids: list[int] | None = None,
                      force: bool = False, progress: Progress | None = None) -> int:
    """Score every completion of the cycle that lacks a score for one of *specs* (default: the
    watch's scorers). Candidates' completions are scored with production's answer beside them.
    With *force*, scores that exist are computed again and overwritten. Returns how many were written."""
    with session_scope() as session:
        plan = results.plan_scoring(session, cycle_id=cycle_id, specs=specs, run_ids=run_ids, force=force)
    built = {spec.key: spec.build() for item in plan for spec in item.missing}
    jobs = [(item, spec) for item in plan for spec in item.missing]
    limit = asyncio.Semaphore(get_settings().score_concurrency)

    async def one(item: results.ScoringItem, spec: ScorerSpec) -> tuple[int, ScorerSpec, Score]:
        async with limit:
            score = await score_completion(built[spec.key], item.case.case, item.completion, item.production)
        return item.completion_id, spec, score

    written = 0
    for start in range(0, len(jobs), SCORE_BATCH_SIZE):
        batch = await asyncio.gather(*(one(item, spec) for item, spec in jobs[start:start + SCORE_BATCH_SIZE]))
        with session_scope() as session:
            written += results.save_scores(session, scores=list(batch))
        if progress:
            progress("scoring", min(start + SCORE_BATCH_SIZE, len(jobs)), len(jobs))
    return written


def finish_cycle(cycle_id: int) -> str:
    """Close the cycle: `finished` unless every run failed. Returns the final state."""
    with session_scope() as session:
        cycle_runs = runs.cycle_runs(session, cycle_id=cycle_id)
        failed = [run for run in cycle_runs if run.state == "failed"]
        if cycle_runs and len(failed) == len(cycle_runs):
            reasons = "; ".join(sorted({run.reason or "failed" for run in failed}))
            runs.set_cycle_state(session, cycle_id=cycle_id, state="failed", reason=reasons)
        else:
            runs.set_cycle_state(session, cycle_id=cycle_id, state="finished")
        return runs.get_cycle(session, cycle_id=cycle_id).state


async def run_cycle(cycle_id: int, *, progress: Progress | None = None) -> str:
    """Run a whole cycle inline: every model's replay concurrently, then scoring, then closing."""
    with session_scope() as session:
        runs.set_cycle_state(session, cycle_id=cycle_id, state="running")
        run_ids = [run.id for run in runs.cycle_runs(session, cycle_id=cycle_id) if run.id is not None]
    await asyncio.gather(*(replay_run(run_id, progress=progress) for run_id in run_ids))
    await score_cycle(cycle_id, progress=progress)
    return finish_cycle(cycle_id)
