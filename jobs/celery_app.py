"""The Celery app: JSON only, late acks, one queue per kind of work.

`celery -A jobs.celery_app worker -Q replay,score,analyze,alerts` runs CPU work;
`celery -A jobs.celery_app worker -Q gpu --concurrency 1` runs `kind: vllm` models, one per GPU.
There is no result backend: the database is the source of truth for every result and state.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from service.settings import Settings, get_settings

QUEUES = ("replay", "gpu", "score", "analyze", "alerts")


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings for *settings*' broker."""
    return {
        "broker_url": settings.broker,
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        # A worker that dies mid-task hands the message back instead of acking it.
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": "replay",
        # Task names are the wire contract; queues are routing, kept here in one place.
        "task_routes": {"jobs.replay_run": {"queue": "replay"}, "jobs.score_cycle": {"queue": "score"},
                        "jobs.analyze_cycle": {"queue": "analyze"}},
        "task_queues": None,
        "task_create_missing_queues": True,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        # Redelivery after a lost worker comes from the reconciler within a minute; this is the backstop.
        # A redelivered message keeps its task id; leases are per delivery, so it never replays beside
        # the first (jobs/tasks.py). A short timeout (tests) is swept for at the same pace.
        "broker_transport_options": _transport_options(settings.visibility_timeout_s),
        "worker_hijack_root_logger": False,
        "imports": ["jobs.tasks"],
    }


def _transport_options(visibility_timeout_s: float) -> dict[str, Any]:
    short = visibility_timeout_s < 600
    return {"visibility_timeout": max(1, int(visibility_timeout_s)),
            "unacked_restore_interval": 1 if short else 10, "unacked_restore_throttle": 1 if short else 10}


def create_celery_app(settings: Settings | None = None) -> Celery:
    """A configured Celery app (the module-level `celery_app` is the one workers run)."""
    app = Celery("turnout", set_as_current=False)
    app.conf.update(celery_config(settings or get_settings()))
    return app


celery_app = create_celery_app()
app = celery_app  # `celery -A jobs.celery_app` finds either name
