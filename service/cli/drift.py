"""`turnout drift WATCH`: each model's drift verdict in a cycle, its reasons, and its Evidently report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evals.errors import ConfigError
from evals.models import display_name
from jobs.drift import drift_document, pin_reference, report_html
from service.cli import output


def cmd_drift(args: argparse.Namespace) -> int:
    if args.pin is not None:
        pin_reference(watch=args.watch, run_id=args.pin)
        print(f"pinned run {args.pin} as the drift reference of its model in '{args.watch}'")
        return 0
    document = drift_document(watch=args.watch, cycle_id=args.cycle, model=args.model)
    if args.html is not None:
        if len(document["models"]) != 1:
            names = ", ".join(item["model"] for item in document["models"])
            raise ConfigError(f"--html writes one model's report: add --model (one of: {names})", field="--html")
        model = document["models"][0]["model"]
        html = report_html(watch=args.watch, cycle_id=document["cycle_id"], model=model)
        Path(args.html).write_text(html, encoding="utf-8")
    if args.json:
        output.print_json(document)
    else:
        _print(document, html=args.html)
    return 0


def _print(document: dict[str, Any], *, html: str | None) -> None:
    print(f"watch {document['watch']}, cycle {document['cycle_id']}")
    for item in document["models"]:
        print(f"  {display_name(item['model'], simulated=bool(item.get('simulated')))}: {item['verdict']}")
        for reason in item["reasons"]:
            print(f"    - {reason['message']}")
        if item["score_change"] is not None:
            print(f"    score change {item['score_change']:+.3f} [{item['ci_low']}, {item['ci_high']}]; "
                  f"output change {item['output_change_rate']} (expected {item['expected_change_rate']:.3f}); "
                  f"drift share {item['drift_share']}")
    if html:
        print(f"report written to {html}")
