"""The Celery app: JSON only, late acks, one queue per kind of work.

`celery -A jobs.celery_app worker -Q replay,score,analyze,alerts` runs CPU work;
`celery -A jobs.celery_app worker -Q gpu --concurrency 1` runs `kind: vllm` models, one per GPU.
There is no result backend: the database is the source of truth for every result and state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, Protocol

from celery import Celery

from service.settings import Settings, get_settings

QUEUES = ("replay", "gpu", "score", "analyze", "alerts")

P = ParamSpec("P")


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
                        "jobs.analyze_cycle": {"queue": "analyze"}, "jobs.deliver_alerts": {"queue": "alerts"}},
        "task_queues": None,
        "task_create_missing_queues": True,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        # Redelivery after a lost worker comes from the reconciler within a minute; this is the backstop.
        # A redelivered message keeps its task id; leases are per delivery, so it never replays beside
        # the first (jobs/tasks.py). A short timeout (tests) is swept for at the same pace.
        "broker_transport_options": _transport_options(settings.visibility_timeout_s),
        "worker_hijack_root_logger": False,
        "imports": ["jobs.tasks", "jobs.alerts.tasks"],
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


class TaskRequest(Protocol):
    """The context of the task being run (`celery.app.task.Context`), as far as our tasks read it."""

    @property
    def id(self) -> str | None:
        """The task id; a retry keeps it, a new message gets another."""


class Task(Protocol[P]):
    """A registered Celery task, as far as this code uses one."""

    @property
    def request(self) -> TaskRequest:
        """The context of the call being run (inside the task body only)."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Run the body in this process, as a plain function."""

    def apply_async(self, args: tuple[Any, ...], **options: Any) -> object:
        """Send the task to the queue with positional *args* (JSON values) and Celery's *options*."""


def task(*, name: str, **options: Any) -> Callable[[Callable[P, None]], Task[P]]:
    """`celery_app.task`, typed: a task keeps its function's signature for mypy.

    Args:
        name: The task's wire name; it never changes once released.
        **options: Celery task options (queue, retries, acks).

    Returns:
        The decorator that registers a function as the task *name*.
    """
    # Celery ships no type hints: its decorator is Any, and this annotation is all mypy sees.
    register: Callable[[Callable[P, None]], Task[P]] = celery_app.task(name=name, **options)
    return register
