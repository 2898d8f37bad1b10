"""The overview's batched read of every watch gives what the one-watch reads give, watch by watch, in the
same few statements whatever the number of watches."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from evals.config import load_config
from service.storage import advice, catalog, listing
from service.storage.db import get_engine, session_scope
from service.storage.overview import watches_overview
from service.storage.series import metric_series
from service.storage.tables import CycleRow

QUIET = """\
  - name: qa-quiet
    golden_set: qa
    production: cand
    scorers: [{name: exact_match}]
"""
TWIN = """\
  - name: qa-twin
    golden_set: qa
    production: prod
    scorers: [{name: contains}]
"""


def _statements(run: object) -> int:
    count = 0

    def counted(*_: object) -> None:
        nonlocal count
        count += 1

    sa.event.listen(get_engine(), "before_cursor_execute", counted)
    try:
        assert callable(run)
        run()
    finally:
        sa.event.remove(get_engine(), "before_cursor_execute", counted)
    return count


def test_the_overview_reads_each_watch_as_the_one_watch_reads_do(database_url: str, watch_file: Path) -> None:
    from jobs import pipeline

    watch_file.write_text(watch_file.read_text() + QUIET + TWIN)
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(watch_file))
    twin = pipeline.start_cycle(watch="qa-twin", trigger="cli")  # before qa-watch's: its sparkline starts earlier
    assert asyncio.run(pipeline.run_cycle(twin)) == "finished"
    for _ in range(2):
        cycle_id = pipeline.start_cycle(watch="qa-watch", trigger="cli")
        assert asyncio.run(pipeline.run_cycle(cycle_id)) == "finished"
    queued = pipeline.start_cycle(watch="qa-watch", trigger="manual")  # the last cycle, not run yet
    epoch = datetime(2000, 1, 1, tzinfo=UTC)

    with session_scope() as session:
        overview = watches_overview(session, since=epoch, points=20)
        assert [item.watch.name for item in overview.watches] == ["qa-quiet", "qa-twin", "qa-watch"]
        quiet, shared, busy = overview.watches
        assert len(shared.scores) == 1 and shared.last_cycle is not None and shared.last_cycle.cycle_id == twin
        assert quiet.recommendation is None and quiet.last_cycle is None and quiet.scores == []
        assert quiet.cost_since_usd == 0.0

        latest = advice.recommendation(session, watch_name="qa-watch")
        assert busy.recommendation is not None
        assert (busy.recommendation.cycle_id, busy.recommendation.verdict, busy.recommendation.to) == (
            latest.cycle_id,
            latest.verdict,
            latest.to,
        )
        assert busy.recommendation.main_reason == latest.document["reasons"][0]
        assert busy.last_cycle == listing.cycle_page(session, limit=1, watch="qa-watch").cycles[0]
        assert busy.last_cycle is not None and busy.last_cycle.cycle_id == queued
        scores = [p.score for p in metric_series(session, "qa-watch", model="prod", limit=20).points]
        assert busy.scores == scores and len(scores) == 2 and all(s is not None for s in scores)
        spent = session.execute(sa.select(sa.func.sum(CycleRow.cost_usd)).where(CycleRow.id != twin)).scalar_one()
        assert spent > 0 and abs(busy.cost_since_usd - spent) < 1e-9  # the queued cycle has spent nothing yet

        # Each watch's sparkline starts at its own cycle, even when another watch shares its production model
        assert watches_overview(session, since=epoch, points=1).watches[2].scores == scores[-1:]
        assert watches_overview(session, since=datetime.now(UTC), points=20).watches[2].cost_since_usd == 0.0

    def read() -> None:
        with session_scope() as session:
            watches_overview(session, since=epoch)

    # One or two statements per kind of fact (watches, verdicts, last cycles, their runs, model and watch names,
    # where each sparkline starts, scores, costs), however many watches there are.
    before = _statements(read)
    more = "".join(QUIET.replace("qa-quiet", f"qa-quiet-{i}") for i in range(4))
    watch_file.write_text(watch_file.read_text() + more)
    with session_scope() as session:
        catalog.apply_config(session, config=load_config(watch_file))
    assert _statements(read) == before <= 9
