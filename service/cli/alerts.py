"""`turnout alerts list|retry ID|test WATCH`: the outbox, seen and handled from the command line."""

from __future__ import annotations

import argparse
import sys

from sqlmodel import select

from evals.recipe import StoredWatch
from service.storage import deliveries, migrate, outbox
from service.storage.db import get_engine, session_scope
from service.storage.tables import WatchRow


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `alerts` and its actions on the top-level subcommands."""
    alerts = commands.add_parser("alerts", help="the alert outbox", description="alerts sent, waiting or failed")
    alerts.set_defaults(handler=lambda _: alerts.print_help() or 2)
    actions = alerts.add_subparsers(metavar="ACTION")
    listing = actions.add_parser("list", help="the latest alerts and their state")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=cmd_list)
    retry = actions.add_parser("retry", help="send a failed alert again")
    retry.add_argument("alert_id", type=int)
    retry.set_defaults(handler=cmd_retry)
    test = actions.add_parser("test", help="send a test message through the watch's route")
    test.add_argument("watch")
    test.set_defaults(handler=cmd_test)


def cmd_list(args: argparse.Namespace) -> int:
    migrate.ensure_current(get_engine())
    with session_scope() as session:
        rows = outbox.list_alerts(session, limit=args.limit)
        routes = deliveries.of_alerts(session, alert_ids=[row.id or 0 for row in rows])
        for row in rows:
            by_route = " ".join(f"{d.route}:{d.state}" for d in routes[row.id or 0]) or "-"
            print(f"{row.id:>6}  {row.state:9}  {row.kind:8}  cycle {row.cycle_id or '-':>5}  attempts {row.attempts}"
                  f"  {by_route:40}  {row.error or ''}")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    from jobs.alerts.deliver import deliver_now

    migrate.ensure_current(get_engine())
    with session_scope() as session:
        row = deliveries.retry(session, alert_id=args.alert_id)
    if row is None:
        print(f"no alert with id {args.alert_id}; `turnout alerts list` shows them", file=sys.stderr)
        return 1
    state = deliver_now([args.alert_id], wait_s=40).get(args.alert_id)
    print(f"alert {args.alert_id}: {state}")
    return 0 if state == "delivered" else 1


def cmd_test(args: argparse.Namespace) -> int:
    from jobs.alerts.deliver import deliver_now, routes_of

    migrate.ensure_current(get_engine())
    with session_scope() as session:
        watch = session.exec(select(WatchRow).where(WatchRow.name == args.watch)).first()
        if watch is None:
            print(f"no watch named '{args.watch}'; `turnout apply -f turnout.yaml` declares watches", file=sys.stderr)
            return 1
        routes = StoredWatch.model_validate(watch.spec).alerts
        if not routes_of(routes):
            print(f"watch '{args.watch}' has no route: none of {routes.slack_token_env}, {routes.slack_webhook_env},"
                  f" {routes.webhook_url_env} is set; every route is skipped", file=sys.stderr)
            return 1
        alert_id = outbox.create_test_alert(session, watch=watch).id or 0
    for name, variable in (("slack", routes.slack_token_env), ("slack_webhook", routes.slack_webhook_env),
                           ("webhook", routes.webhook_url_env)):
        if name not in routes_of(routes):
            print(f"route {name}: skipped ({variable} is not set)")
    state = deliver_now([alert_id], wait_s=10).get(alert_id)
    with session_scope() as session:
        for delivery in deliveries.of_alerts(session, alert_ids=[alert_id])[alert_id]:
            print(f"route {delivery.route}: {delivery.state}" + (f" ({delivery.error})" if delivery.error else ""))
    return 0 if state == "delivered" else 1
