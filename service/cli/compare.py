"""`turnout compare RUN_A RUN_B`: the paired comparison of B against A (B − A) on one scorer."""

from __future__ import annotations

import argparse

from jobs.compare import compare_runs
from service.cli import output


def cmd_compare(args: argparse.Namespace) -> int:
    result = compare_runs(run_a=args.run_a, run_b=args.run_b, scorer=args.scorer, margin=args.margin)
    if args.json:
        output.print_json(result.to_dict())
    else:
        output.print_comparison(result)
    return 0
