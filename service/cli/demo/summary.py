"""What the demo shows at the end: the last cycle's table, the recommendation with its reasons, the drift
verdicts and report, the alerts as the Block Kit messages they are (or were) posted as."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from evals.alerts import AlertPayload
from evals.alerts.render import render
from evals.models import display_name
from jobs.alerts.deliver import deliver_now
from jobs.drift import drift_document, report_html
from service.cli import output
from service.cli.advise import print_recommendation
from service.settings import get_settings
from service.storage import advice, outbox
from service.storage.db import session_scope
from service.storage.runs import NotFound
from service.storage.summary import cycle_summary


@dataclass(frozen=True)
class Outputs:
    """The files the demo wrote."""

    drift_report: Path | None
    """The production model's drift report of the last cycle (HTML)."""
    alerts: tuple[Path, ...]
    """Each alert's Slack message (Block Kit JSON), oldest first."""
    slack_message: Path | None
    """The last alert's message: the one the demo would post now."""


def show_cycle(console: Console, *, cycle_id: int) -> None:
    """The per-model table of one cycle."""
    with session_scope() as session:
        output.print_cycle(cycle_summary(session, cycle_id=cycle_id))


def show_recommendation(console: Console, *, watch: str) -> None:
    """The latest recommendation, announced verdict first, with every reason."""
    with session_scope() as session:
        recommendation = advice.recommendation(session, watch_name=watch, cycle_id=None)
    print_recommendation(recommendation, console=console)


def show_drift(console: Console, *, watch: str, cycle_id: int, model: str, workdir: Path) -> Path | None:
    """Each model's drift verdict in *cycle_id*; *model*'s report written as HTML (None when it has none)."""
    document = drift_document(watch=watch, cycle_id=cycle_id)
    console.print(f"[bold]drift[/] in cycle {cycle_id} (against each model's previous runs):")
    for item in document["models"]:
        name = display_name(item["model"], simulated=bool(item.get("simulated")))
        console.print(f"  {name}: [bold]{item['verdict']}[/]")
        for reason in item["reasons"]:
            console.print(f"    - {reason['message']}", markup=False)
    try:
        html = report_html(watch=watch, cycle_id=cycle_id, model=model)
    except NotFound as exc:
        console.print(f"  no drift report for {model}: {exc}", markup=False)
        return None
    path = workdir / "drift-report.html"
    path.write_text(html, encoding="utf-8")
    return path


def write_alerts(console: Console, *, watch_id: int, workdir: Path) -> tuple[tuple[Path, ...], Path | None]:
    """Deliver what is still pending (posted for real when SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL is set), then
    write every alert of the watch as the Slack message it is: `alerts/<id>-<kind>.json` and the last one as
    `slack-message.json`."""
    with session_scope() as session:
        rows = [row for row in outbox.list_alerts(session, limit=200) if row.watch_id == watch_id]
    pending = [row.id or 0 for row in rows if row.state == "pending"]
    states = deliver_now(pending, wait_s=get_settings().alert_wait_s) if pending else {}
    with session_scope() as session:
        rows = sorted((row for row in outbox.list_alerts(session, limit=200) if row.watch_id == watch_id),
                      key=lambda row: row.id or 0)
    folder = workdir / "alerts"
    folder.mkdir(exist_ok=True)
    paths = []
    posting = any(os.environ.get(name) for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"))
    where = "posted to Slack" if posting else "not posted: set SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL to post them"
    console.print(f"[bold]alerts[/] ({where}):")
    for row in rows:
        message = render(AlertPayload.from_json(row.payload), public_url=get_settings().public_url)
        path = folder / f"{row.id}-{row.kind}.json"
        path.write_text(json.dumps({"text": message.text, "blocks": message.blocks}, indent=2, ensure_ascii=False)
                        + "\n", encoding="utf-8")
        paths.append(path)
        state = states.get(row.id or 0, row.state)
        console.print(f"  alert {row.id}, cycle {row.cycle_id}, {row.kind} ({state}): {message.text.splitlines()[0]}",
                      markup=False)
    last = None
    if paths:
        last = workdir / "slack-message.json"
        last.write_text(paths[-1].read_text(encoding="utf-8"), encoding="utf-8")
    return tuple(paths), last
