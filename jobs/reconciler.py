"""Finds work whose queue message was lost (killed worker, restarted Redis) and sends it again."""

from __future__ import annotations

import logging
from datetime import timedelta

from jobs.alerts.tasks import enqueue_alerts
from jobs.dispatch import enqueue_run, enqueue_step
from service.settings import get_settings
from service.storage import leases, outbox
from service.storage.db import session_scope

log = logging.getLogger(__name__)


def reconcile() -> int:
    """Re-enqueue silent runs, stalled cycle steps and due alerts; returns how many messages were sent.

    Safe to call at any time and from several places: a duplicate message finds the run leased or
    the step already taken, and does nothing.
    """
    silence = timedelta(seconds=get_settings().reconcile_after_s)
    with session_scope() as session:
        silent = leases.silent_runs(session, silence=silence)
        stalled = leases.stalled_cycles(session, silence=silence)
        alerts = outbox.due(session)
    for run in silent:
        log.info("re-enqueueing run %s of cycle %s (no live worker)", run.id, run.cycle_id)
        enqueue_run(run)
    for cycle in stalled:
        step = "score" if cycle.step == "replay" else cycle.step
        if cycle.step == "replay":
            with session_scope() as session:
                if not leases.advance_step(session, cycle_id=cycle.id or 0, from_step="replay", to_step="score"):
                    continue
        log.info("re-enqueueing %s of cycle %s", step, cycle.id)
        enqueue_step(cycle.id or 0, step)
    if alerts:
        log.info("re-enqueueing %d due alert(s)", len(alerts))
        enqueue_alerts(alerts)
    return len(silent) + len(stalled) + len(alerts)
