"""The alert task: IDs in, `deliver_alert` does the work; safe twice (a claimed or delivered alert is skipped)."""

from __future__ import annotations

from jobs.alerts.deliver import deliver_alert, next_due_in
from jobs.celery_app import task
from service.storage import outbox
from service.storage.db import StoreUnavailable, session_scope

SHORT_WAIT_S = 60.0
"""A retry due sooner is sent with a countdown; later ones wait for the reconciler (Redis would hand a
long-delayed message out again after its visibility timeout)."""


@task(name="jobs.deliver_alerts", queue="alerts", acks_late=True, autoretry_for=(StoreUnavailable,),
      retry_backoff=2, retry_backoff_max=60, max_retries=20)
def deliver_alerts(alert_ids: list[int]) -> None:
    """Deliver the due alerts of *alert_ids*; one that must wait a little is sent again with a countdown."""
    for alert_id in alert_ids:
        deliver_alert(alert_id)
        wait = next_due_in(alert_id)
        if wait is not None and wait <= SHORT_WAIT_S:
            deliver_alerts.apply_async(args=([alert_id],), countdown=wait)


def enqueue_alerts(alert_ids: list[int]) -> None:
    """Hand *alert_ids* to the `alerts` queue (nothing when empty)."""
    if alert_ids:
        deliver_alerts.apply_async(args=(alert_ids,))


def enqueue_cycle_alerts(cycle_ids: list[int]) -> None:
    """Hand the pending alerts of *cycle_ids* to the `alerts` queue: the listener of
    `outbox.when_cycles_close` in the pipeline's tasks, called once a cycle's closing has committed."""
    with session_scope() as session:
        alert_ids = [alert_id for cycle_id in cycle_ids for alert_id in outbox.cycle_alerts(session, cycle_id=cycle_id)]
    enqueue_alerts(alert_ids)
