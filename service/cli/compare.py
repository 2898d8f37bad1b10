"""`turnout compare RUN_A RUN_B`: the paired comparison of B against A (B − A) on one scorer."""

from __future__ import annotations

import argparse

from evals.errors import ConfigError
from jobs.analysis import paired
from service.cli import output
from service.storage import metrics, runs
from service.storage.db import session_scope


def cmd_compare(args: argparse.Namespace) -> int:
    with session_scope() as session:
        run_a = runs.get_run(session, run_id=args.run_a)
        run_b = runs.get_run(session, run_id=args.run_b)
        cycle_b = runs.get_cycle(session, cycle_id=run_b.cycle_id)
        recipe = runs.recipe(cycle_b)
        specs = recipe.scorers
        keys = [spec.key for spec in specs]
        scorer = args.scorer or next(spec.key for spec in specs if spec.primary)
        if scorer not in keys and not any(key.split(":", 1)[0] == scorer for key in keys):
            raise ConfigError(f"run {args.run_b} has no scores for '{scorer}'; its scorers are: {', '.join(keys)}"
                              " (`turnout rescore` adds one)")
        scorer = scorer if scorer in keys else next(key for key in keys if key.split(":", 1)[0] == scorer)
        margin = args.margin if args.margin is not None else recipe.watch.policy.margin
        table_a = metrics.score_table(session, run_id=args.run_a, scorer_key=scorer)
        table_b = metrics.score_table(session, run_id=args.run_b, scorer_key=scorer)
        if not table_a.values and not table_a.unscorable:
            raise ConfigError(f"run {args.run_a} has no scores for '{scorer}' (`turnout rescore {args.run_a} "
                              f"--scorer '{scorer}'` adds them)")
        document = {"run_a": run_a.id, "run_b": run_b.id, "scorer": scorer,
                    **paired(table_a, table_b, margin=margin)}
        metrics.save_comparison(session, run_a_id=args.run_a, run_b_id=args.run_b, scorer_key=scorer,
                                document=document)
    if args.json:
        output.print_json(document)
    else:
        output.print_comparison(document)
    return 0
