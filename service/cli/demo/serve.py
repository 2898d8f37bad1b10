"""`turnout demo --serve`: the API (and the dashboard, where it is installed) on the demo's data, with a token."""

from __future__ import annotations

import threading
from importlib.util import find_spec
from pathlib import Path

from rich.console import Console

from service.cli import ops
from service.storage import access
from service.storage.db import session_scope


def serve(*, console: Console, port: int, workdir: Path, host: str = "127.0.0.1") -> None:
    """Make an admin token for the demo, print it, then serve the API app as `turnout api` does until Ctrl-C."""
    with session_scope() as session:
        created = access.create_token(session, role="admin", name="demo")
    console.rule("serving the demo's data")
    if find_spec("service.web") is not None:
        console.print(f"  dashboard: http://{host}:{port}/ (sign in with the token below)", markup=False)
    else:
        console.print("  the dashboard (service/web) is not part of this install: the REST API serves the same data",
                      markup=False)
    console.print(f"  API: http://{host}:{port}/api/v1/watches  (header 'Authorization: Bearer <token>')",
                  markup=False)
    console.print(f"  sign-in token (admin, shown once): {created.token}", markup=False)
    console.print(f"  data: {workdir / 'turnout.db'}; Ctrl-C stops", markup=False)
    ops.serve_api(host, port, threading.Event())
