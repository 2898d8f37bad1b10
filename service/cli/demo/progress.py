"""The demo's progress: which cycle the scheduler is on, what each run has done, read from the store."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.text import Text

from evals.models import display_name
from service.storage.db import session_scope
from service.storage.public import CycleStatusPublic
from service.storage.status import status

FINAL = frozenset({"finished", "failed", "cancelled"})
"""States a cycle ends in."""
POLL_S = 0.5
"""How often the store is read; replay stores what is answered every half second, so a slow model's
progress moves case by case."""
LOG_EVERY_S = 5.0
"""Without a terminal (a log), a run's progress line is printed at most this often, and at each change of state."""


def cycles_of(watch: str) -> list[CycleStatusPublic]:
    """The watch's cycles, oldest first."""
    with session_scope() as session:
        document = status(session, limit=100, watch=watch)
    return sorted(document.cycles, key=lambda cycle: cycle.cycle_id)


class RunBars:
    """A Rich progress bar per run of each cycle: which cycle, which model, its cases done out of its total."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(bar_width=30), MofNCompleteColumn(),
                                 TextColumn("cases  {task.fields[state]}"), console=console, auto_refresh=False)
        self._tasks: dict[int, TaskID] = {}

    def update(self, cycles: list[CycleStatusPublic], *, wanted: int) -> None:
        """A bar for each run not seen yet; every bar moved to its run's cases done, as last stored."""
        for number, cycle in enumerate(cycles[:wanted], start=1):
            for run in cycle.runs:
                state = run.state + (f" ({run.errors} errors)" if run.errors else "")
                if run.state in FINAL:
                    state = f"{state}; cycle {cycle.state}, step {cycle.step}"
                if run.run_id not in self._tasks:
                    name = display_name(run.model, simulated=run.simulated)
                    self._tasks[run.run_id] = self.progress.add_task(
                        f"cycle {number}/{wanted} (#{cycle.cycle_id}) {name:<24}", total=run.total or 1, state=state)
                self.progress.update(self._tasks[run.run_id], completed=run.done, total=run.total or 1, state=state)


def follow(*, watch: str, cycles: int, stop_scheduling: Callable[[], None], next_slot: Callable[[int], datetime],
           console: Console, timeout_s: float) -> list[CycleStatusPublic]:
    """Show the cycles as the scheduler fires them until *cycles* of them are over.

    Args:
        watch: The demo's watch.
        cycles: How many cycles to wait for; once that many were fired, *stop_scheduling* is called.
        stop_scheduling: Stops the scheduler (no further cycle is fired).
        next_slot: The time of cycle *n* (1-based), to say how long until it fires.
        console: Where to draw.
        timeout_s: Give up waiting after this long (the cycles shown say where it stopped).

    Returns:
        The watch's first *cycles* cycles, as last read.
    """
    deadline = time.monotonic() + timeout_s
    stopped = False
    seen: list[CycleStatusPublic] = []
    said: dict[str, tuple[str, float]] = {}
    bars = RunBars(console)
    live = Live(console=console, refresh_per_second=4) if console.is_terminal else None
    if live is not None:
        live.start()
    try:
        while time.monotonic() < deadline:
            before, seen = seen, cycles_of(watch)
            _say_overlap(before, seen[:cycles], console=console)
            if len(seen) >= cycles and not stopped:
                stop_scheduling()
                stopped = True
            done = [cycle for cycle in seen[:cycles] if cycle.state in FINAL]
            fired = min(len(seen), cycles)
            if fired < cycles:
                wait = (next_slot(fired + 1) - datetime.now(UTC)).total_seconds()
                line = f"cycle {fired + 1} of {cycles} fires in {max(wait, 0):.0f} s (scheduler, cron with seconds)"
            else:
                line = f"all {cycles} cycles fired; waiting for {cycles - len(done)} to finish"
            if live is not None:
                bars.update(seen, wanted=cycles)
                live.update(Group(Text(line, style="bold"), bars.progress.get_renderable()))
            else:
                _say_changes(seen[:cycles], wanted=cycles, said=said, console=console)
            if len(done) >= cycles:
                break
            time.sleep(POLL_S)
    finally:
        if live is not None:
            live.stop()
    return seen[:cycles]


def _say_overlap(before: list[CycleStatusPublic], now: list[CycleStatusPublic], *, console: Console) -> None:
    """Say so when a cycle fires while the one before it is still open (the period was too short for this
    machine's load): the demo still waits for both, but they share the CPU."""
    for index in range(max(len(before), 1), len(now)):
        previous = now[index - 1]
        if previous.state not in FINAL:
            console.print(f"note: cycle {index + 1} fired while cycle {index} was still in step {previous.step} "
                          "(this machine is slower than measured); both go on", markup=False, highlight=False)


def _say_changes(cycles: list[CycleStatusPublic], *, wanted: int, said: dict[str, tuple[str, float]],
                 console: Console) -> None:
    """Lines for a log: a cycle's state and step when they change; a run's cases done, at each change of state
    and at most every `LOG_EVERY_S` seconds in between."""
    now = time.monotonic()
    for number, cycle in enumerate(cycles, start=1):
        text = f"cycle {number} of {wanted} (#{cycle.cycle_id}): {cycle.state}, step {cycle.step}"
        lines = {f"cycle:{cycle.cycle_id}": (text, text, True)}
        for run in cycle.runs:
            errors = f" ({run.errors} errors)" if run.errors else ""
            name = display_name(run.model, simulated=run.simulated)
            line = f"  cycle {number}, {name}: {run.state}, {run.done}/{run.total} cases{errors}"
            key = f"run:{run.run_id}"
            changed_state = said.get(key, ("", 0.0))[0].split("|")[0] != run.state
            lines[key] = (f"{run.state}|{run.done}", line, changed_state or run.done == run.total)
        for key, (signature, line, urgent) in lines.items():
            last, at = said.get(key, ("", 0.0))
            if last != signature and (urgent or now - at >= LOG_EVERY_S):
                said[key] = (signature, now)
                console.print(line, markup=False, highlight=False)
