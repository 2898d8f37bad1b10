"""docs/alert-example.json, and the README's copy of it, are what the renderer produces today."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("alert_example", ROOT / "scripts" / "alert_example.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_example_is_the_renderers_output() -> None:
    example = script()
    committed = (ROOT / "docs" / "alert-example.json").read_text(encoding="utf-8")
    assert committed == example.rendered(), "stale: run PYTHONPATH=. python scripts/alert_example.py"
    message = json.loads(committed)
    # the example shows what the issue asks of a message: verdict header, drift folded in, the button
    assert message["blocks"][0]["text"]["text"] == "Switch advisable: support (gpt-4o → mistral-small)"
    assert any(b.get("text", {}).get("text", "").startswith("*Drift*") for b in message["blocks"])
    assert message["blocks"][-1]["elements"][0]["url"] == "https://turnout.example.com/watches/support"


def test_the_readme_shows_the_committed_example() -> None:
    committed = (ROOT / "docs" / "alert-example.json").read_text(encoding="utf-8")
    assert committed in (ROOT / "README.md").read_text(encoding="utf-8")
