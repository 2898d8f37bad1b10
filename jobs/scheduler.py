"""The scheduler process: APScheduler 3 as the clock, the watches table as the truth.

A sync loop reads the watches and adds, changes, pauses and removes cron jobs to match; only the
replica holding the leader lock runs an APScheduler at all (APScheduler must not share a job
store between running schedulers, so standbys keep none). The leader also runs the reconciler.
A firing creates the cycle for its slot, unique per (watch, slot), then enqueues it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from evals.cron import cron_fields
from jobs import dispatch
from jobs.leader import Leadership
from jobs.reconciler import reconcile
from service.settings import get_settings
from service.storage import catalog
from service.storage.db import session_scope
from service.storage.tables import CycleRow, WatchRow

log = logging.getLogger(__name__)

MISFIRE_GRACE_S = 300
"""A firing up to five minutes late still runs (e.g. after a leader change); later ones count as missed."""

CATCH_UP_WINDOW = timedelta(days=1)
"""How far back a new leader looks for slots missed while no scheduler ran (`misfire: run_once`)."""


@dataclass(frozen=True)
class WatchSchedule:
    """What the scheduler needs of a watch; a change to any field replaces its job."""

    watch_id: int
    name: str
    schedule: str
    timezone: str
    misfire: str

    def trigger(self) -> CronTrigger:
        # Not CronTrigger.from_crontab: APScheduler 3 reads weekday 0 as Monday, crontab as Sunday.
        return CronTrigger(timezone=self.timezone, **cron_fields(self.schedule))


def active_schedules() -> dict[str, WatchSchedule]:
    """Scheduled watches that are neither paused nor deleted, by job id."""
    with session_scope() as session:
        watches = catalog.list_watches(session)
    return {f"watch:{w.id}": WatchSchedule(w.id or 0, w.name, w.schedule, w.timezone,
                                           str(w.spec.get("misfire", "run_once")))
            for w in watches if w.schedule and not w.paused}


def latest_slot(trigger: CronTrigger, now: datetime, *, window: timedelta) -> datetime | None:
    """The most recent fire time of *trigger* at or before *now*, looking back at most *window*."""
    slot = None
    fire = trigger.get_next_fire_time(None, now - window)
    while fire is not None and fire <= now:
        slot = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return slot


def fire(watch_id: int, job_id: str, schedules: Callable[[], dict[str, WatchSchedule]],
         leading: Callable[[], bool] | None = None) -> None:
    """An APScheduler firing: the cycle for the slot just passed (created once), then enqueued."""
    schedule = schedules().get(job_id)
    if schedule is None:
        return  # paused or removed since the job was last synced
    if leading is not None and not leading():
        return  # the lock passed to another replica since the loop last looked: it fires now
    slot = latest_slot(schedule.trigger(), datetime.now(UTC), window=timedelta(seconds=MISFIRE_GRACE_S))
    if slot is not None:
        start_slot(schedule, slot)


def start_slot(schedule: WatchSchedule, slot: datetime) -> None:
    """Create and enqueue the cycle of one slot; a second call for the same slot does nothing."""
    slot = slot.astimezone(UTC)
    if _slot_cycle(schedule, slot) is not None:
        return
    try:
        cycle_id = dispatch.trigger(watch=schedule.name, trigger="schedule", scheduled_for=slot)
    except IntegrityError:
        if _slot_cycle(schedule, slot) is None:
            raise
        return  # made at the same moment by the slot's other firing (its job, or the catch-up)
    log.info("watch %s: cycle %s for %s", schedule.name, cycle_id, slot.isoformat())


def _slot_cycle(schedule: WatchSchedule, slot: datetime) -> int | None:
    with session_scope() as session:
        return session.exec(select(CycleRow.id).where(CycleRow.watch_id == schedule.watch_id,
                                                      CycleRow.scheduled_for == slot)).first()


class Scheduler:
    """One replica of `turnout scheduler`. `run()` blocks until `stop()`."""

    def __init__(self, leadership: Leadership, *, sync_s: float | None = None) -> None:
        self.leadership = leadership
        self.sync_s = sync_s or get_settings().scheduler_sync_s
        self._clock: BackgroundScheduler | None = None
        self._jobs: dict[str, WatchSchedule] = {}
        self._stop = threading.Event()

    @property
    def is_leader(self) -> bool:
        return self._clock is not None

    def run(self) -> None:
        # The lock is renewed on a thread of its own: a slow pass of the loop (catching up, a slow
        # database) must not let it expire under a live leader and hand the schedule to a second one.
        keeper = threading.Thread(target=self._keep_lock, name="leader-lock", daemon=True)
        keeper.start()
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.sync_s)
        keeper.join()
        self._stand_down()
        self.leadership.release()

    def stop(self) -> None:
        self._stop.set()

    def _keep_lock(self) -> None:
        while not self._stop.wait(self.sync_s / 2):
            self.leadership.hold()

    def tick(self) -> None:
        """One pass of the loop: keep or lose leadership; as leader, sync jobs and reconcile."""
        if not self.leadership.hold():
            self._stand_down()
            return
        try:
            took_over = self._clock is None
            if took_over:
                self._take_over()
            self.sync()
            if took_over:
                # After the jobs exist: a slot passing while catching up is then fired by its job.
                self.catch_up()
            reconcile()
        except Exception:  # a database hiccup must not kill the scheduler: the next tick retries
            log.exception("scheduler tick failed; retrying in %.0f s", self.sync_s)

    def _take_over(self) -> None:
        log.info("this scheduler is now the leader")
        self._clock = BackgroundScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "misfire_grace_time": MISFIRE_GRACE_S, "max_instances": 1})
        self._clock.start()
        self._jobs = {}

    def _stand_down(self) -> None:
        if self._clock is not None:
            log.info("this scheduler is no longer the leader")
            self._clock.shutdown(wait=False)
            self._clock, self._jobs = None, {}

    def sync(self) -> None:
        """Make APScheduler's jobs match the watches table."""
        assert self._clock is not None
        wanted = active_schedules()
        for job_id in set(self._jobs) - set(wanted):
            self._clock.remove_job(job_id)
            del self._jobs[job_id]
        for job_id, schedule in wanted.items():
            if self._jobs.get(job_id) == schedule:
                continue
            self._clock.add_job(fire, schedule.trigger(), id=job_id, replace_existing=True,
                                args=(schedule.watch_id, job_id, active_schedules, self.leadership.hold),
                                name=schedule.name)
            self._jobs[job_id] = schedule

    def catch_up(self) -> None:
        """Slots missed while no scheduler ran: one cycle for the latest, for `misfire: run_once` watches."""
        now = datetime.now(UTC)
        for schedule in active_schedules().values():
            if schedule.misfire != "run_once":
                continue
            with session_scope() as session:
                watch = session.get(WatchRow, schedule.watch_id)
                created = watch.created_at if watch else now
            slot = latest_slot(schedule.trigger(), now, window=CATCH_UP_WINDOW)
            if slot is not None and slot > created:
                start_slot(schedule, slot)
