"""`turnout demo`: the whole loop on this machine, offline, in a few minutes.

A fresh workspace (golden set, turnout.yaml, SQLite database) in `--dir`; SmolLM2-135M served by llama.cpp
(started and stopped here); an in-process worker and scheduler firing the watch's cycles in accelerated time
(a cron line with seconds); the production stand-in (`kind: sim`) changing silently before the last cycle; at
the end the recommendation with its reasons, the drift verdicts and report, and the alerts as Block Kit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
import warnings
from pathlib import Path

from rich.console import Console

from evals.errors import ConfigError

MIN_CYCLES = 3
"""Two cycles to announce the switch (hysteresis 2), one more for the silent update to show as drift."""
MARKER = ".turnout-demo"
"""The file that marks a folder as a demo workspace, which the demo may empty."""


def add_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `turnout demo` on the top-level subcommands."""
    demo = commands.add_parser("demo", help="play the whole loop offline with a real local model (a few minutes)",
                               description="Play the whole loop offline: golden set, scheduled cycles, scores with "
                                           "intervals, drift, recommendation, alert; SmolLM2 runs on this CPU.")
    demo.add_argument("--dir", type=Path, default=Path("turnout-demo"),
                      help="the demo workspace (default: ./turnout-demo; emptied when it is one already)")
    demo.add_argument("--cycles", type=int, default=MIN_CYCLES,
                      help=f"cycles to run (at least {MIN_CYCLES}, the default)")
    demo.add_argument("--serve", action="store_true",
                      help="afterwards, serve the API (and dashboard) on the demo's data and print a sign-in token")
    demo.add_argument("--port", type=int, default=8000, help="the port of --serve (default 8000)")
    demo.add_argument("--openai", metavar="MODEL",
                      help="put this real OpenAI model in production instead of the stand-in (needs OPENAI_API_KEY)")
    demo.add_argument("--support-pairs", type=int, default=None, help=argparse.SUPPRESS)  # tests: a smaller set
    demo.set_defaults(handler=cmd_demo)


def prepare_workspace(folder: Path) -> Path:
    """Make *folder* an empty demo workspace; refuse a folder with other files in it."""
    folder = folder.resolve()
    if folder.exists() and any(folder.iterdir()) and not (folder / MARKER).exists():
        raise ConfigError(f"{folder} exists and is not a demo workspace (no {MARKER} in it); give another --dir, "
                          "the demo empties its folder", field="--dir")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("written by `turnout demo`; the next demo in this folder empties it\n")
    return folder


def cmd_demo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.cycles < MIN_CYCLES:
        raise ConfigError(f"--cycles {args.cycles}: the demo needs at least {MIN_CYCLES} (two to announce the "
                          "switch, one for the silent update)", field="--cycles")
    if args.openai and not os.environ.get("OPENAI_API_KEY"):
        raise ConfigError("--openai puts a real OpenAI model in production: set OPENAI_API_KEY", field="--openai")
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # numpy on constant scores: the stats say so
    # scikit-learn's text-drift classifier on a few dozen answers; the drift verdict says what it found
    warnings.filterwarnings("ignore", message="Maximum number of iteration reached before convergence")
    workdir = prepare_workspace(args.dir)
    os.environ["TURNOUT_DATABASE_URL"] = f"sqlite:///{workdir / 'turnout.db'}"
    os.environ["TURNOUT_SCHEDULER_SYNC_S"] = "1"  # the watch is applied while the scheduler runs: see it at once
    from service.settings import get_settings

    get_settings.cache_clear()
    from service.cli.demo.run import play  # after the settings point at the workspace

    console = Console(highlight=False, soft_wrap=True)
    code = play(workdir=workdir, cycles=args.cycles, openai_model=args.openai, console=console,
                support_pairs=args.support_pairs, started=started)
    if code == 0 and args.serve:
        from service.cli.demo.serve import serve

        serve(console=console, port=args.port, workdir=workdir)
    return code


def elapsed(started: float) -> str:
    """Seconds since *started* as `3 min 12 s`."""
    seconds = round(time.monotonic() - started)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
