"""Golden-set cases whose text and answers are hostile markup: pages must show them as text."""

from __future__ import annotations

import json

SCRIPT = "<script>window.__xss = 1</script>"
IMG = '"><img src=x onerror="window.__xss = 2">'
TEMPLATE = "{{ 7 * 7 }}{% raw %}"

XSS_CASES = [
    {"id": "xss-script", "input": f"Echo this. {SCRIPT}\nANSWER: {SCRIPT}", "expected": SCRIPT,
     "tags": ["lang:en", "xss:<b>tag</b>"]},
    {"id": 'xss-"><img', "input": f"Echo this.\nANSWER: {IMG}", "expected": IMG, "tags": ["lang:en"]},
    {"id": "xss-template", "input": f"Echo {TEMPLATE}\nANSWER: {TEMPLATE}", "expected": "49", "tags": ["lang:en"]},
]


def jsonl(cases: list[dict[str, object]]) -> str:
    return "".join(json.dumps(case) + "\n" for case in cases)


def assert_escaped(html: str) -> None:
    """No hostile markup came through as markup; it is all there as text."""
    assert "<script>window.__xss" not in html
    assert "<img src=x" not in html
    assert "<b>tag</b>" not in html
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html
