"""`turnout token create|list|revoke`: whoever reaches the database can make the first admin token."""

from __future__ import annotations

import argparse
import sys

from service.storage import access, migrate
from service.storage.db import get_engine, session_scope


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `token` and its actions on the top-level subcommands."""
    token = commands.add_parser("token", help="API tokens", description="API tokens (shown once, stored as a hash)")
    token.set_defaults(handler=lambda _: token.print_help() or 2)
    actions = token.add_subparsers(metavar="ACTION")
    create = actions.add_parser("create", help="make a token and print it once")
    create.add_argument("--role", required=True, choices=access.ROLES)
    create.add_argument("--name", help="who or what uses it (default: the role and a random part)")
    create.set_defaults(handler=cmd_create)
    actions.add_parser("list", help="list tokens (never the secrets)").set_defaults(handler=cmd_list)
    revoke = actions.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(handler=cmd_revoke)


def cmd_create(args: argparse.Namespace) -> int:
    migrate.ensure_current(get_engine())
    with session_scope() as session:
        created = access.create_token(session, role=args.role, name=args.name)
    print(created.token)
    print(f"token {created.id} '{created.name}' ({created.role}) made; it is shown only now, "
          "send it as 'Authorization: Bearer <token>'", file=sys.stderr)
    return 0


def cmd_list(_: argparse.Namespace) -> int:
    migrate.ensure_current(get_engine())
    with session_scope() as session:
        tokens = access.list_tokens(session).tokens
    for token in tokens:
        state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
        print(f"{token.id:>4}  {token.name:24} {token.role:7} {token.prefix}…  {state:18} {used}")
    if not tokens:
        print("no tokens; `turnout token create --role admin` makes the first", file=sys.stderr)
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    migrate.ensure_current(get_engine())
    with session_scope() as session:
        revoked = access.revoke_token(session, token_id=args.token_id)
    print(f"token {revoked.id} '{revoked.name}' revoked")
    return 0
