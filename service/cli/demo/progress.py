"""The demo's progress: which cycle the scheduler is on, what each run has done, read from the store."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from evals.models import display_name
from service.storage.db import session_scope
from service.storage.public import CycleStatusPublic
from service.storage.status import status

FINAL = frozenset({"finished", "failed", "cancelled"})
"""States a cycle ends in."""
POLL_S = 0.5
"""How often the store is read."""


def cycles_of(watch: str) -> list[CycleStatusPublic]:
    """The watch's cycles, oldest first."""
    with session_scope() as session:
        document = status(session, limit=100, watch=watch)
    return sorted(document.cycles, key=lambda cycle: cycle.cycle_id)


def _table(cycles: list[CycleStatusPublic], *, wanted: int) -> Table:
    table = Table(title=None, show_edge=False)
    for header in ("cycle", "slot", "state", "step", "model", "run", "cases done"):
        table.add_column(header)
    for number, cycle in enumerate(cycles[:wanted], start=1):
        slot = cycle.scheduled_for.strftime("%H:%M:%S") if cycle.scheduled_for else "-"
        for index, run in enumerate(cycle.runs):
            head = [f"{number}/{wanted} (#{cycle.cycle_id})", slot, cycle.state, cycle.step] if index == 0 else [""] * 4
            done = f"{run.done}/{run.total}" + (f" ({run.errors} errors)" if run.errors else "")
            table.add_row(*head, display_name(run.model, simulated=run.simulated), run.state, done)
    return table


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
    said: dict[str, str] = {}
    live = Live(console=console, refresh_per_second=4) if console.is_terminal else None
    if live is not None:
        live.start()
    try:
        while time.monotonic() < deadline:
            seen = cycles_of(watch)
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
                live.update(Group(Text(line, style="bold"), _table(seen, wanted=cycles)))
            else:
                _say_changes(seen[:cycles], wanted=cycles, said=said, console=console)
            if len(done) >= cycles:
                break
            time.sleep(POLL_S)
    finally:
        if live is not None:
            live.stop()
    return seen[:cycles]


def _say_changes(cycles: list[CycleStatusPublic], *, wanted: int, said: dict[str, str], console: Console) -> None:
    """One line per change, for a log: a cycle's state and step, a run's state and each tenth of its cases."""
    for number, cycle in enumerate(cycles, start=1):
        text = f"cycle {number} of {wanted} (#{cycle.cycle_id}): {cycle.state}, step {cycle.step}"
        lines = {f"cycle:{cycle.cycle_id}": (text, text)}
        for run in cycle.runs:
            tenth = run.done * 10 // run.total if run.total else 0
            errors = f" ({run.errors} errors)" if run.errors else ""
            name = display_name(run.model, simulated=run.simulated)
            line = f"  cycle {number}, {name}: {run.state}, {run.done}/{run.total} cases{errors}"
            lines[f"run:{run.run_id}"] = (f"{run.state}|{tenth}", line)
        for key, (signature, line) in lines.items():
            if said.get(key) != signature:
                said[key] = signature
                console.print(line, markup=False, highlight=False)
