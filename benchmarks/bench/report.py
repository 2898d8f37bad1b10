"""The targets, the table, and the progress lines printed as rows are measured."""

from __future__ import annotations

from typing import Any

from bench.common import TARGET_CEILING, TARGET_PROMPTFOO, Row


def _find(rows: list[Row], client: str, c: int) -> Row | None:
    return next((r for r in rows if r.client == client and r.concurrency == c), None)


def _sdk(rows: list[Row], c: int) -> Row | None:
    """The ceiling at C: the faster of the SDK's rows (one per HTTP transport)."""
    sdk = [r for r in rows if r.client.startswith("sdk") and r.concurrency == c]
    return max(sdk, key=lambda r: r.items_per_s or 0.0, default=None)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def verdicts(rows: list[Row], concurrencies: list[int], latency_s: float) -> list[dict[str, Any]]:
    """Each target, per database and C: the figure, the bar and whether it is met."""
    checks = []
    peer = [r for r in rows if r.client.startswith("peer")]
    if peer:
        best = max(peer, key=lambda r: r.items_per_s or 0)
        bar = 64 / latency_s
        checks.append({"target": f"peer serves > {bar:.0f} req/s", "client": best.client,
                       "concurrency": best.concurrency, "value": best.items_per_s, "bar": bar,
                       "met": (best.items_per_s or 0) > bar})
    # The best any client did against the latency bound (C / latency): how close to it a target may ask.
    reach = max((r.items_per_s * latency_s / r.concurrency for r in rows if r.items_per_s), default=None)
    for db in ("turnout/sqlite", "turnout/postgres"):
        for c in concurrencies:
            ours, sdk, pf = _find(rows, db, c), _sdk(rows, c), _find(rows, "promptfoo", c)
            if ours is None:
                continue
            if sdk is not None:
                value = _ratio(ours.items_per_s, sdk.items_per_s)
                checks.append({"target": "items/s >= 90% of SDK", "against": sdk.client, "client": db,
                               "concurrency": c, "value": value, "bar": TARGET_CEILING,
                               "met": value is not None and value >= TARGET_CEILING})
            if pf is not None:
                value = _ratio(ours.items_per_s, pf.items_per_s)
                check = {"target": "items/s >= 2x promptfoo", "client": db, "concurrency": c, "value": value,
                         "bar": TARGET_PROMPTFOO, "met": value is not None and value >= TARGET_PROMPTFOO}
                # 2x promptfoo as a share of the most C requests in flight allow (C / latency items/s).
                needs = TARGET_PROMPTFOO * (pf.items_per_s or 0.0) * latency_s / c
                if reach is not None and needs > reach:
                    check["note"] = (f"unreachable: needs {needs:.0%} of the latency bound of {c / latency_s:.0f} "
                                     f"items/s; the best client here reached {reach:.0%}")
                checks.append(check)
                value = _ratio(pf.wall_s, ours.wall_s)
                checks.append({"target": "wall faster than promptfoo", "client": db, "concurrency": c,
                               "value": value, "bar": 1.0, "met": ours.wall_s < pf.wall_s})
    return checks


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None or value != value else format(value, spec)


def render(rows: list[Row], checks: list[dict[str, Any]], concurrencies: list[int]) -> str:
    out = ["| client | C | items/s | ideal | wall s | to 1st request s | after last s | CPU ms/item | "
           "peer CPU ms/item | other CPU (cores) | ÷ SDK | ÷ promptfoo | errors |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        sdk, pf = _sdk(rows, r.concurrency), _find(rows, "promptfoo", r.concurrency)
        vs_sdk = _ratio(r.items_per_s, sdk.items_per_s) if sdk and r.client[:4] in ("turn", "prom") else None
        vs_pf = _ratio(r.items_per_s, pf.items_per_s) if pf and r.client.startswith("turnout") else None
        out.append(f"| {r.client} | {r.concurrency} | {_fmt(r.items_per_s, '.1f')} | {r.extra.get('ideal', '')} | "
                   f"{r.wall_s:.2f} | {_fmt(r.extra.get('to_first_request_s'), '.2f')} | "
                   f"{_fmt(r.extra.get('after_last_result_s'), '.2f')} | {_fmt(r.cpu_ms_per_item, '.2f')} | "
                   f"{_fmt(r.peer_cpu_ms_per_item, '.2f')} | "
                   f"{_fmt(r.other_cores, '.2f')} | "
                   f"{_fmt(vs_sdk, '.0%')} | {_fmt(vs_pf, '.2f')} | {r.errors} |")
    if checks:
        out += ["", "| target | client | C | figure | met |", "|---|---|---:|---:|---|"]
        for check in checks:
            figure = _fmt(check["value"], ".0%" if check["bar"] < 1 else ".2f" if check["bar"] < 10 else ".0f")
            met = "yes" if check["met"] else "NO" + (f" ({check['note']})" if "note" in check else "")
            target = check["target"] + (f" (`{check['against']}`)" if "against" in check else "")
            out.append(f"| {target} | {check['client']} | {check['concurrency']} | {figure} | {met} |")
    return "\n".join(out)


def progress(row: Row) -> None:
    print(f"  {row.client:<24} C={row.concurrency:<3} {_fmt(row.items_per_s, '8.1f')} items/s "
          f"wall {row.wall_s:6.2f} s", flush=True)
