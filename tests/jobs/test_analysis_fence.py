"""A lost analysis lease: the step's thread goes on computing, but none of its writes commit.

The analysis step runs on a thread that a lost lease cannot stop, while the reconciler sends the step
again. Each of its write transactions first proves it still holds the step's lease (`leases.fence`),
so of two analyses of one cycle only the lease holder's is stored: one set of metrics, one
recommendation and one drift check per model. Real threads on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import col, func, select

import jobs.analysis
from jobs import pipeline
from jobs.delivery import Delivery, leased_step
from service.settings import get_settings
from service.storage import leases
from service.storage.alert_tables import AlertRow
from service.storage.db import session_scope
from service.storage.drift_tables import DriftRow
from service.storage.tables import ComparisonRow, CycleRow, RecommendationRow, RunMetricRow, RunRow
from tests.peers.openai_peer import OpenAIPeer


@pytest.fixture
def short_lease(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A lease of 1.5 s, renewed every 0.5 s, so a lost lease is noticed quickly."""
    monkeypatch.setenv("TURNOUT_LEASE_S", "1.5")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def scored_cycle() -> int:
    """A cycle replayed and scored inline, waiting in step `analyze` for a delivery to analyse it."""
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    with session_scope() as session:
        run_ids = list(session.exec(select(RunRow.id).where(RunRow.cycle_id == cycle_id)).all())

    async def steps() -> None:
        hub = pipeline.limits_hub(shared=False)
        try:
            await asyncio.gather(*(pipeline.replay_run(run_id or 0, hub=hub) for run_id in run_ids))
            assert pipeline.replay_finished(cycle_id)
            await pipeline.score_cycle(cycle_id, hub=hub)
        finally:
            await hub.aclose()

    asyncio.run(steps())
    assert pipeline.scoring_finished(cycle_id)
    return cycle_id


def analyse(cycle_id: int, owner: str) -> bool:
    """One delivery of the analysis step, as `jobs.analyze_cycle` runs it; True when it ran to the end."""
    fence = leases.StepFence(cycle_id=cycle_id, owner=owner)
    return asyncio.run(leased_step(cycle_id, "analyze",
                                   lambda: asyncio.to_thread(pipeline.analyze_and_close, cycle_id, fence=fence),
                                   delivery=Delivery(owner=owner)))


def stored(cycle_id: int) -> dict[str, int]:
    """What the cycle's analysis wrote, counted by table."""
    with session_scope() as session:
        run_ids = select(RunRow.id).where(RunRow.cycle_id == cycle_id)

        def count(table: type, where: sa.ColumnElement[bool]) -> int:
            return int(session.exec(select(func.count()).select_from(table).where(where)).one())

        return {"metrics": count(RunMetricRow, col(RunMetricRow.run_id).in_(run_ids)),
                "comparisons": count(ComparisonRow, col(ComparisonRow.run_b_id).in_(run_ids)),
                "recommendations": count(RecommendationRow, col(RecommendationRow.cycle_id) == cycle_id),
                "drift_checks": count(DriftRow, col(DriftRow.cycle_id) == cycle_id),
                "alerts": count(AlertRow, col(AlertRow.cycle_id) == cycle_id)}


def take_over(cycle_id: int, owner: str) -> None:
    """Another delivery takes the step's lease, as the reconciler's re-sent step does once the first
    delivery's lease ran out (a long database outage, a paused process)."""
    with session_scope() as session:
        session.execute(sa.update(CycleRow).where(col(CycleRow.id) == cycle_id).values(
            step_lease_owner=owner, step_lease_expires_at=leases.db_now(session) + timedelta(hours=1)))


class HeldAnalysis:
    """The first delivery's analysis, held inside its bootstrap until `resume()`; what it ended with."""

    def __init__(self, cycle_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
        self.cycle_id = cycle_id
        self.entered, self.resumed, self.ended = threading.Event(), threading.Event(), threading.Event()
        self.gave_up = threading.Event()
        self.outcome: object = None
        self.step_ran: bool | None = None
        compute = jobs.analysis.paired
        holder = self

        def paired(*args: object, **kwargs: object) -> object:
            if threading.current_thread().name == "first-analysis" and not holder.entered.is_set():
                holder.entered.set()
                assert holder.resumed.wait(60), "never resumed"
            return compute(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(jobs.analysis, "paired", paired)
        self.delivery = threading.Thread(target=self._deliver)

    def _work(self) -> object:
        threading.current_thread().name = "first-analysis"
        try:
            self.outcome = pipeline.analyze_and_close(
                self.cycle_id, fence=leases.StepFence(cycle_id=self.cycle_id, owner="first"))
        except Exception as exc:
            self.outcome = exc
            raise
        finally:
            self.ended.set()
        return self.outcome

    def _deliver(self) -> None:
        async def deliver() -> None:
            self.step_ran = await leased_step(self.cycle_id, "analyze", lambda: asyncio.to_thread(self._work),
                                              delivery=Delivery(owner="first"))
            self.gave_up.set()

        asyncio.run(deliver())  # returns once the thread has ended too (the loop's executor waits for it)

    def start(self) -> None:
        self.delivery.start()
        assert self.entered.wait(60), "the analysis never reached its bootstrap"

    def resume(self) -> None:
        self.resumed.set()


@pytest.mark.slow
def test_an_analysis_whose_lease_was_taken_over_writes_nothing(
        applied: Path, peers: tuple[OpenAIPeer, OpenAIPeer], database_url: str, short_lease: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # given a first cycle (so the second has drift references) and a second one scored, waiting for analysis
    assert asyncio.run(pipeline.run_cycle(pipeline.start_cycle(watch="qa-watch", trigger="cli"))) == "finished"
    cycle_id = scored_cycle()
    # and a first delivery whose analysis thread is computing
    first = HeldAnalysis(cycle_id, monkeypatch)
    first.start()
    # when its lease passes to a second delivery: the first gives the step up at its next heartbeat...
    take_over(cycle_id, "second")
    assert first.gave_up.wait(30)
    assert first.step_ran is False
    # ...but its thread goes on, and tries to store what it computed
    first.resume()
    first.delivery.join(60)
    assert first.ended.is_set()
    # then it committed nothing, and the cycle still waits for its analysis under the second delivery
    assert isinstance(first.outcome, leases.LeaseLost), first.outcome
    assert stored(cycle_id) == {"metrics": 0, "comparisons": 0, "recommendations": 0, "drift_checks": 0,
                                "alerts": 0}
    with session_scope() as session:
        cycle = session.get(CycleRow, cycle_id)
        assert cycle is not None
        assert cycle.state in ("queued", "running") and (cycle.step, cycle.step_lease_owner) == ("analyze", "second")
    # and the second delivery's analysis closes the cycle: one recommendation, one drift check per model
    assert analyse(cycle_id, "second")
    with session_scope() as session:
        cycle = session.get(CycleRow, cycle_id)
        assert cycle is not None and (cycle.state, cycle.step) == ("finished", "done")
    counts = stored(cycle_id)
    assert counts["recommendations"] == 1 and counts["drift_checks"] == 2, counts
    assert counts["metrics"] > 0 and counts["comparisons"] == 2, counts  # two scorers, one candidate


@pytest.mark.slow
def test_two_analyses_of_one_cycle_at_once_store_one_recommendation_and_one_drift_check_per_model(
        applied: Path, peers: tuple[OpenAIPeer, OpenAIPeer], database_url: str, short_lease: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # given a first cycle, and the numbers a lone analysis stores for a cycle of this watch
    assert asyncio.run(pipeline.run_cycle(pipeline.start_cycle(watch="qa-watch", trigger="cli"))) == "finished"
    alone = scored_cycle()
    assert analyse(alone, "alone")
    expected = stored(alone)
    # and a cycle whose first delivery is computing when its lease passes to a second delivery
    cycle_id = scored_cycle()
    first = HeldAnalysis(cycle_id, monkeypatch)
    first.start()
    take_over(cycle_id, "second")
    assert first.gave_up.wait(30)
    # when the first delivery's thread and the second delivery analyse the cycle at the same time
    results: list[bool] = []
    second = threading.Thread(target=lambda: results.append(analyse(cycle_id, "second")))
    second.start()
    first.resume()
    second.join(120)
    first.delivery.join(60)
    assert first.ended.is_set()
    # then the second ran to the end, the first's writes were refused, and the cycle stored what a lone
    # analysis stores: one recommendation and one drift check per model, no alert twice
    assert results == [True]
    assert isinstance(first.outcome, leases.LeaseLost), first.outcome
    assert stored(cycle_id) == expected
    assert expected["recommendations"] == 1 and expected["drift_checks"] == 2, expected
