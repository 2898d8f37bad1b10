"""`turnout advise WATCH`: the advisor's latest (or a given cycle's) recommendation, with its reasons."""

from __future__ import annotations

import argparse

from rich.console import Console

from evals.models import display_name
from service.cli import output
from service.storage import advice
from service.storage.db import session_scope
from service.storage.public import RecommendationPublic


def cmd_advise(args: argparse.Namespace) -> int:
    if args.recompute:
        from jobs.advice import advise_cycle, latest_cycle_id  # the statistics stack is slow to import

        cycle_id = args.cycle if args.cycle is not None else latest_cycle_id(args.watch)
        with session_scope() as session:
            advice.recommendation(session, watch_name=args.watch, cycle_id=cycle_id)  # NotFound names the cycle
        stored = advise_cycle(cycle_id, current=True)
        assert stored is not None  # the cycle was advised before, so it has a production run
        recommendation = stored
    else:
        with session_scope() as session:
            recommendation = advice.recommendation(session, watch_name=args.watch, cycle_id=args.cycle)
    if args.json:
        output.print_json(recommendation.document)
    else:
        print_recommendation(recommendation)
    return 0


def print_recommendation(recommendation: RecommendationPublic, *, console: Console | None = None) -> None:
    """The announced verdict, this cycle's own, the streak against the hysteresis, then every reason."""
    out = console or Console(highlight=False, soft_wrap=True)
    doc = recommendation.document
    simulated = set(doc.get("simulated") or ())

    def shown(name: str) -> str:
        return display_name(name, simulated=name in simulated)

    announced = recommendation.verdict + (f" → {shown(recommendation.to)}" if recommendation.to else "")
    own = recommendation.cycle_verdict + (f" → {shown(recommendation.cycle_to)}" if recommendation.cycle_to else "")
    out.print(f"[bold]recommendation[/] for {recommendation.watch}, cycle {recommendation.cycle_id}: "
              f"[bold]{announced}[/]", markup=True)
    out.print(f"  this cycle: {own}, held {recommendation.consecutive} of {doc.get('hysteresis')} cycle(s) "
              f"needed to announce it" + (" (announced now)" if recommendation.changed else ""), markup=False)
    if doc.get("cases_needed"):
        out.print(f"  cases needed: about {doc['cases_needed']} pairs", markup=False)
    for reason in doc.get("reasons", []):
        out.print(f"  - {reason}", markup=False)
