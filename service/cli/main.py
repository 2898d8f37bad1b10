"""The `turnout` command. Exit status: 0 success, 1 a failure the message explains, 2 bad usage."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from evals.config import load_config
from evals.errors import TurnoutError
from evals.policy import default_margin
from evals.scoring.registry import ScorerSpec
from service.cli import alerts, demo, ops, output, tokens
from service.storage import advice, catalog, migrate, results
from service.storage.db import StoreUnavailable, get_engine, session_scope
from service.storage.summary import cycle_summary


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `turnout` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.handler(args) or 0)
    except StoreUnavailable as exc:
        output.error(f"{exc}. Is the database running? (TURNOUT_DATABASE_URL)")
    except TurnoutError as exc:
        output.error(str(exc))
    except KeyboardInterrupt:
        output.error("interrupted; what was stored is kept, and running the command again resumes it")
        return 130
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="turnout", description="Continuous evaluation of LLMs: should we switch?")
    commands = parser.add_subparsers(metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int | None], help_text: str
                ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    def db_usage(_: argparse.Namespace) -> int:  # `turnout db` without an action
        db.print_help(sys.stderr)
        return 2

    db = command("db", db_usage, "database schema")
    db_commands = db.add_subparsers(metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply migrations").set_defaults(handler=cmd_db_upgrade)
    db_commands.add_parser("current", help="print the schema revision").set_defaults(handler=cmd_db_current)

    apply = command("apply", cmd_apply, "create or update golden sets, models and watches from turnout.yaml")
    apply.add_argument("-f", "--file", type=Path, default=Path("turnout.yaml"), help="default: ./turnout.yaml")
    apply.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    apply.add_argument("--prune", action="store_true", help="soft-delete what the file no longer declares")
    apply.add_argument("--allow-unsupported", action="store_true",
                       help="import asserts Turnout cannot run (javascript, python, ...); their cases are unscorable")

    run = command("run", cmd_run, "run one cycle of a watch inline (no broker) and print the results")
    run.add_argument("watch")
    run.add_argument("--json", action="store_true", help="print one JSON object")

    res = command("results", cmd_results, "print the per-case results of a run")
    res.add_argument("run_id", type=int)
    res.add_argument("--json", action="store_true", help="print one JSON object")

    rescore = command("rescore", cmd_rescore, "score a run's stored completions again (no model calls)")
    rescore.add_argument("run_id", type=int)
    rescore.add_argument("--scorer", action="append", required=True, metavar="SPEC",
                         help='NAME or NAME:{json options}; repeatable')

    compare = command("compare", cmd_compare, "paired comparison of run B against run A (B - A)")
    compare.add_argument("run_a", type=int)
    compare.add_argument("run_b", type=int)
    compare.add_argument("--scorer", help="scorer key (default: the primary scorer)")
    compare.add_argument("--margin", type=float,
                         help=f"non-inferiority margin (default: the watch's policy, else {default_margin()})")
    compare.add_argument("--json", action="store_true", help="print one JSON object")

    advise = command("advise", cmd_advise, "the advisor's recommendation for a watch, with its reasons")
    advise.add_argument("watch")
    advise.add_argument("--cycle", type=int, help="a given cycle's recommendation (default: the latest)")
    advise.add_argument("--recompute", action="store_true",
                        help="advise the latest (or --cycle) cycle again with the current policy and models, "
                             "from the stored scores, without a new cycle")
    advise.add_argument("--json", action="store_true", help="print one JSON object")

    drift = command("drift", cmd_drift, "each model's drift verdict in a cycle, with its reasons and report")
    drift.add_argument("watch")
    drift.add_argument("--model", help="one model (default: every model of the watch)")
    drift.add_argument("--cycle", type=int, help="a given cycle (default: the latest checked one)")
    drift.add_argument("--html", metavar="FILE", help="write the model's Evidently report as HTML")
    drift.add_argument("--pin", type=int, metavar="RUN_ID", help="pin this run as its model's reference")
    drift.add_argument("--json", action="store_true", help="print one JSON object")

    trigger = command("trigger", ops.cmd_trigger, "enqueue a cycle of a watch now, for the workers")
    trigger.add_argument("watch")
    cancel = command("cancel", ops.cmd_cancel, "cancel a queued or running cycle")
    cancel.add_argument("cycle_id", type=int)
    status = command("status", ops.cmd_status, "cycles with per-run progress")
    status.add_argument("--watch")
    status.add_argument("--limit", type=int, default=20)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    scheduler = command("scheduler", ops.cmd_scheduler, "run the scheduler (leader-elected through Redis)")
    scheduler.add_argument("--check", action="store_true", help="exit 0 when the database and Redis answer")
    up = command("up", ops.cmd_up, "API + scheduler + worker in one process (in-process broker)")
    up.add_argument("--concurrency", type=int, default=4)
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=0, help="serve the API on this port (needs turnout[api])")
    api = command("api", ops.cmd_api, "serve the REST API (needs turnout[api])")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=ops.worker_count, default=1, metavar="N",
                     help="serve from N processes sharing the port (default: 1; about one per core)")

    tokens.add_commands(commands)
    demo.add_command(commands)
    alerts.add_commands(commands)
    command("watches", cmd_watches, "list watches")
    command("scorers", cmd_scorers, "list the registered scorers")
    return parser


def cmd_compare(args: argparse.Namespace) -> int:
    from service.cli.compare import cmd_compare as compare

    return compare(args)


def cmd_drift(args: argparse.Namespace) -> int:
    from service.cli.drift import cmd_drift as drift

    _ready()
    return drift(args)


def cmd_advise(args: argparse.Namespace) -> int:
    from service.cli.advise import cmd_advise as advise

    _ready()
    return advise(args)


def _ready() -> None:
    migrate.ensure_current(get_engine())


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    migrate.upgrade()
    print(f"database at migration {migrate.head_revision()}")
    return 0


def cmd_db_current(_: argparse.Namespace) -> int:
    print(migrate.current_revision(get_engine()) or "empty (run `turnout db upgrade`)")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    # every file is checked before anything is stored
    config = load_config(args.file, allow_unsupported=args.allow_unsupported)
    _ready()
    with session_scope() as session:
        changes = catalog.apply_config(session, config=config, prune=args.prune)
        if args.dry_run:
            session.rollback()
    output.print_changes(changes, dry_run=args.dry_run)
    output.print_notes(config.notes)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from jobs import pipeline  # imported per command: the SDK and statistics stacks are slow to import

    _ready()
    cycle_id = pipeline.start_cycle(watch=args.watch, trigger="cli")
    with output.progress_bar(enabled=True) as progress:
        state = asyncio.run(pipeline.run_cycle(cycle_id, progress=progress))
    _deliver_alerts(cycle_id)
    with session_scope() as session:
        summary = cycle_summary(session, cycle_id=cycle_id)
        recommendation = advice.cycle_recommendation(session, cycle_id=cycle_id)
    if args.json:
        document = summary.model_dump(mode="json")
        document["recommendation"] = recommendation.document if recommendation is not None else None
        output.print_json(document)
    else:
        output.print_cycle(summary)
        if recommendation is not None:
            from service.cli.advise import print_recommendation

            print()
            print_recommendation(recommendation)
    return 0 if state == "finished" else 1


def _deliver_alerts(cycle_id: int) -> None:
    """The cycle's alerts go out before `turnout run` exits; what Slack refuses for long stays in the outbox."""
    from jobs.alerts.deliver import deliver_now
    from jobs.pipeline import cycle_alerts
    from service.settings import get_settings

    for alert_id, state in deliver_now(cycle_alerts(cycle_id), wait_s=get_settings().alert_wait_s).items():
        if state != "delivered":
            print(f"alert {alert_id}: {state} (`turnout alerts list`)", file=sys.stderr)


def cmd_results(args: argparse.Namespace) -> int:
    _ready()
    with session_scope() as session:
        document = results.run_results(session, run_id=args.run_id)
    if args.json:
        output.print_json(document.model_dump(mode="json"))
    else:
        output.print_results(document)
    return 0


def cmd_rescore(args: argparse.Namespace) -> int:
    from jobs.rescore import rescore_run

    for text in args.scorer:
        ScorerSpec.parse(text)  # a bad spec is bad usage: say so before asking for the database
    _ready()
    done = rescore_run(run_id=args.run_id, scorers=args.scorer)
    print(f"run {done.run_id}: {done.written} scores written ({', '.join(done.scorers)})")
    return 0


def cmd_watches(_: argparse.Namespace) -> int:
    _ready()
    with session_scope() as session:
        output.print_watches(catalog.list_watches(session))
    return 0


def cmd_scorers(_: argparse.Namespace) -> int:
    from jobs.rescore import list_scorers

    for item in list_scorers().scorers:
        print(f"{item.name:16} v{item.version}  {item.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
