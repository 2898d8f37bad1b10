"""Write docs/alert-example.json: the Slack message of an example alert, as the renderer makes it today.

    PYTHONPATH=. .venv/bin/python scripts/alert_example.py          # rewrites the file
    PYTHONPATH=. .venv/bin/python scripts/alert_example.py --check  # exits 1 when the file is stale

The example is an announced switch with the production model's drift folded in (one message per
watch and cycle). `tests/evals/test_alert_example.py` checks that the file, and the README's copy of
it, are what `evals.alerts.render` produces.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evals.alerts import AlertPayload, render

PATH = Path(__file__).resolve().parents[1] / "docs" / "alert-example.json"
PUBLIC_URL = "https://turnout.example.com"

RECOMMENDATION = {
    "watch": "support", "cycle_id": 42, "verdict": "switch_advisable", "to": "mistral-small",
    "production": "gpt-4o", "consecutive": 3, "hysteresis": 3,
    "quality": {"difference": -0.004, "ci_low": -0.031, "ci_high": 0.022, "margin": 0.05, "n_pairs": 120,
                "segments": {"lang:fr": {"difference": 0.0, "ci_low": -0.048, "ci_high": 0.045}}},
    "cost": {"production_monthly_usd": 9120.0, "candidate_monthly_usd": 3465.8, "saving": 0.62},
    "latency": {"production_p95_ms": 910.0, "candidate_p95_ms": 640.0, "slo_p95_ms": 1500.0},
    "privacy": {"golden_set_class": "internal", "candidate_ok": True},
    "reasons": ["mistral-small is no worse than gpt-4o overall and in lang:fr (margin 0.05)",
                "saves 62% a month at 2,000,000 requests",
                "production gpt-4o drifted: fingerprint changed from fp_44a1 to fp_9c07"],
}


def example() -> AlertPayload:
    """The example alert: a switch announced in cycle 42, with the production model's drift."""
    return AlertPayload(watch="support", cycle_id=42, kind="verdict", recommendation=RECOMMENDATION,
                        drift=("gpt-4o: fingerprint changed from fp_44a1 to fp_9c07",))


def rendered() -> str:
    """The file's text: `{"text", "blocks"}` as `chat.postMessage` receives them, one block a line."""
    message = render(example(), public_url=PUBLIC_URL)
    blocks = ",\n  ".join(json.dumps(block, ensure_ascii=False) for block in message.blocks)
    return f'{{"text": {json.dumps(message.text, ensure_ascii=False)},\n "blocks": [\n  {blocks}]}}\n'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the file is current")
    args = parser.parse_args()
    text = rendered()
    if args.check:
        current = PATH.exists() and PATH.read_text(encoding="utf-8") == text
        print(f"{PATH}: {'current' if current else 'stale; run scripts/alert_example.py'}")
        return 0 if current else 1
    PATH.write_text(text, encoding="utf-8")
    print(f"wrote {PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
