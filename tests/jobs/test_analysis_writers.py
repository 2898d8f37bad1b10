"""The analysis step leaves the database open to other writers while it computes: on SQLite a write
transaction held through Evidently's reports would lock out the step's own lease renewals and the next
cycle's replays (a cycle then stays in `analyze` while its lease runs out and the step is sent again)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import evals.drift.report
import jobs.analysis
from jobs import pipeline
from tests.peers.openai_peer import OpenAIPeer


def _write_from_another_connection(url: str) -> str | None:
    """A one-row write on a connection of its own that waits at most a second; the error, or None."""
    engine = create_engine(url, connect_args={"timeout": 1})
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE cycle SET judge_cost_usd = judge_cost_usd WHERE id = -1"))
    except Exception as exc:  # "database is locked" when another transaction holds the write lock
        return str(exc)
    finally:
        engine.dispose()
    return None


def test_other_writers_get_through_while_the_drift_reports_are_built(
    applied: Path, peers: tuple[OpenAIPeer, OpenAIPeer], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL locks rows, not the database")
    # given a first cycle, so that the second has reference runs and builds a report for each model
    first = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(first)) == "finished"
    build = evals.drift.report.data_drift_report
    blocked: list[str | None] = []

    def building(**kwargs: object) -> object:
        # while Evidently works, another process's writer (a lease renewal, a replay's batch) tries to write
        outcome: list[str | None] = []
        writer = threading.Thread(target=lambda: outcome.append(_write_from_another_connection(database_url)))
        writer.start()
        writer.join()
        blocked.extend(outcome)
        return build(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(evals.drift.report, "data_drift_report", building)
    # when the second cycle is analysed
    second = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(second)) == "finished"
    # then a report was built for each model, and no write had to wait for the analysis
    assert len(blocked) == 2
    assert blocked == [None, None], blocked


def test_other_writers_get_through_while_the_comparisons_are_computed(
    applied: Path, peers: tuple[OpenAIPeer, OpenAIPeer], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL locks rows, not the database")
    compute = jobs.analysis.paired
    blocked: list[str | None] = []

    def comparing(*args: object, **kwargs: object) -> object:
        outcome: list[str | None] = []
        writer = threading.Thread(target=lambda: outcome.append(_write_from_another_connection(database_url)))
        writer.start()
        writer.join()
        blocked.extend(outcome)
        return compute(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jobs.analysis, "paired", comparing)
    # when a cycle is analysed (the candidate against production, on each of the watch's two scorers)
    cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
    assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
    # then no write had to wait for the bootstrap
    assert blocked == [None, None], blocked
