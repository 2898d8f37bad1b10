"""What the CLI prints for people: tables, change lists, a progress bar on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evals.models import display_name
from evals.recipe import StoredWatch
from service.storage.catalog import Change
from service.storage.public import CyclePublic, CyclesPublic, RunResultsPublic
from service.storage.tables import WatchRow

if TYPE_CHECKING:  # the statistics stack is slow to import; only `compare` needs it
    from jobs.compare import RunComparison

_stdout = Console(highlight=False)
if not _stdout.is_terminal:
    # Piped output is read by people in logs and by scripts: never squeeze numbers to fit 80 columns.
    _stdout = Console(highlight=False, width=200)
_stderr = Console(stderr=True, highlight=False)


def print_json(document: Any) -> None:
    """One JSON document on stdout, for scripts (`--json`)."""
    json.dump(document, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def error(message: str) -> None:
    """Print an error to stderr."""
    _stderr.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)


@contextmanager
def progress_bar(*, enabled: bool) -> Iterator[Any]:
    """A `progress(label, done, total)` callback drawing one bar per label on a terminal's stderr."""
    if not enabled or not _stderr.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description:>20}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=_stderr, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        yield update


def print_changes(changes: list[Change], *, dry_run: bool) -> None:
    """One line per declared object, then a count per action."""
    prefix = "would be " if dry_run else ""
    for change in changes:
        detail = f" ({change.detail})" if change.detail else ""
        _stdout.print(f"{change.kind:10} {change.name:24} {prefix}{change.action}{detail}", markup=False)
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "nothing declared"
    _stdout.print(f"{'dry run, nothing changed: ' if dry_run else ''}{summary}", markup=False)


def print_notes(notes: dict[str, tuple[str, ...]]) -> None:
    """What `apply` changed on the way in: generated ids, asserts imported as unscorable."""
    for name, lines in notes.items():
        for line in lines:
            _stdout.print(f"note: golden set {name}: {line}", markup=False)


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_cycle(summary: CyclePublic) -> None:
    """The per-model table of `turnout run`."""
    table = Table(title=f"cycle {summary.cycle_id} of {summary.watch} — {summary.state}"
                        f" (golden set {summary.golden_set} @ {str(summary.golden_set_version)[:12]})")
    for header in ("run", "model", "role", "cases", "errors", summary.primary_scorer, "p50 ms", "p95 ms",
                   "tokens in/out", "cost $"):
        table.add_column(header, justify="left" if header in ("model", "role") else "right")
    for run in summary.runs:
        table.add_row(str(run.run_id), display_name(run.model, simulated=run.simulated), run.role, str(run.n_cases),
                      str(run.n_errors),
                      _num(run.score_mean), _num(run.latency_p50_ms, 0), _num(run.latency_p95_ms, 0),
                      f"{run.input_tokens}/{run.output_tokens}", _num(run.cost_usd, 4))
    _stdout.print(table)
    for run in summary.runs:
        if run.reason:
            _stdout.print(f"run {run.run_id} ({display_name(run.model, simulated=run.simulated)}) {run.state}: "
                          f"{run.reason}", markup=False)
        _print_unscorable(f"run {run.run_id} ({display_name(run.model, simulated=run.simulated)}): ", run.unscorable)
    if summary.reason:
        _stdout.print(f"cycle {summary.state}: {summary.reason}", markup=False)


def print_results(document: RunResultsPublic) -> None:
    """The per-case table of `turnout results`."""
    name = display_name(document.model, simulated=document.simulated)
    table = Table(title=f"run {document.run_id} — {name} ({document.role}, {document.state})")
    for header in ("case", "output / error", "scores", "ms", "tokens"):
        table.add_column(header)
    for case in document.cases:
        text = case.output if case.error is None else f"[red]{case.error}[/]"
        scores = ", ".join(f"{k}={_num(v, 2)}" for k, v in case.scores.items())
        table.add_row(case.case_id, " ⏎ ".join((text or "").split("\n"))[:80], scores, _num(case.latency_ms, 0),
                      f"{case.input_tokens}/{case.output_tokens}")
    _stdout.print(table)
    _print_unscorable("", document.unscorable)


def _print_unscorable(prefix: str, counts: dict[str, int]) -> None:
    for cause, n in sorted(counts.items()):
        _stdout.print(f"{prefix}{n} case{'s' if n != 1 else ''} unscorable: {cause}", markup=False)


def print_watches(watches: list[WatchRow]) -> None:
    """The watches table."""
    table = Table()
    for header in ("watch", "golden set", "production", "candidates", "schedule", "paused"):
        table.add_column(header)
    for watch in watches:
        spec = StoredWatch.model_validate(watch.spec)
        table.add_row(watch.name, spec.golden_set, spec.production, ", ".join(spec.candidates),
                      f"{watch.schedule or '-'} {watch.timezone}", "yes" if watch.paused else "no")
    if not watches:
        print("no watches; `turnout apply -f turnout.yaml` declares them", file=sys.stderr)
        return
    _stdout.print(table)


def print_status(document: CyclesPublic) -> None:
    """Cycles with one line per run: state and cases done / total."""
    if not document.cycles:
        print("no cycles yet; `turnout trigger WATCH` or `turnout run WATCH` starts one", file=sys.stderr)
        return
    table = Table()
    for header in ("cycle", "watch", "state", "step", "trigger", "slot", "run", "model", "run state", "done"):
        table.add_column(header)
    for cycle in document.cycles:
        slot = cycle.scheduled_for.isoformat() if cycle.scheduled_for else "-"
        head = [str(cycle.cycle_id), cycle.watch, cycle.state, cycle.step, cycle.trigger, slot]
        for index, run in enumerate(cycle.runs or [None]):
            tail = ["-"] * 4 if run is None else [str(run.run_id), display_name(run.model, simulated=run.simulated),
                                                run.state, f"{run.done}/{run.total}"]
            table.add_row(*(head if index == 0 else [""] * 6), *tail)
    _stdout.print(table)


def print_comparison(result: RunComparison) -> None:
    """The paired comparison, overall then per segment."""
    comparison = result.comparison
    table = Table(title=f"run {result.run_b} − run {result.run_a} on {result.scorer} (margin {comparison.margin})")
    for header in ("segment", "pairs", "B − A", "95% CI", "p", "McNemar p", "non-inferiority p", "min detectable"):
        table.add_column(header, justify="left" if header == "segment" else "right")
    for name, item in [("all", comparison), *sorted(comparison.segments.items())]:
        table.add_row(name, str(item.n_pairs), _num(item.difference), f"[{_num(item.ci_low)}, {_num(item.ci_high)}]",
                      _num(item.p_value), _num(item.mcnemar_p), _num(item.noninferiority_p),
                      _num(item.min_detectable))
    _stdout.print(table)
    for reason, n in sorted(comparison.left_out.items()):
        _stdout.print(f"{n} case{'s' if n != 1 else ''} left out: {_LEFT_OUT.get(reason, reason)}", markup=False)


_LEFT_OUT = {"not_in_other_version": "not in the other version",
             "not_sampled": "outside a run's case sample (sample_cases)",
             "unscorable": "the scorer could not judge it on one side or both"}
