"""The `turnout status` read model: cycles with per-run progress."""

from __future__ import annotations

from sqlmodel import Session

from service.storage import runs
from service.storage.public import CyclesPublic, CycleStatusPublic, RunProgressPublic
from service.storage.tables import CycleRow


def status(session: Session, *, limit: int = 20, watch: str | None = None) -> CyclesPublic:
    """Open cycles first, then the most recent others, each with its runs' progress."""
    return CyclesPublic(cycles=[cycle_status(session, cycle=cycle)
                                for cycle in runs.recent_cycles(session, limit=limit, watch_name=watch)])


def cycle_status(session: Session, *, cycle: CycleRow) -> CycleStatusPublic:
    """One cycle with its runs' progress."""
    cycle_runs = runs.cycle_runs(session, cycle_id=cycle.id or 0)
    names = runs.model_names(session, cycle_runs)
    progress = [RunProgressPublic.model_validate({
        "run_id": run.id, "model": names[run.model_id], "simulated": run.model_spec.get("kind") == "sim",
        "role": run.role, "state": run.state, "done": run.n_done, "total": run.n_total, "errors": run.n_errors})
        for run in cycle_runs]
    return CycleStatusPublic.model_validate({
        "cycle_id": cycle.id, "watch": runs.recipe(cycle).watch.name, "state": cycle.state, "step": cycle.step,
        "reason": cycle.reason, "failure_kind": cycle.failure_kind, "trigger": cycle.trigger,
        "scheduled_for": cycle.scheduled_for,
        "created_at": cycle.created_at, "runs": progress})
