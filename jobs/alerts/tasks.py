"""The alert task: IDs in, `deliver_alert` does the work; safe twice (a claimed or delivered alert is skipped)."""

from __future__ import annotations

from jobs.alerts.deliver import deliver_alert, next_due_in
from jobs.celery_app import task
from service.storage.db import StoreUnavailable

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
