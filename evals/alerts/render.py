"""An alert as a Slack message: Block Kit as plain dicts, with a plain-text fallback, inside Slack's limits.

Every text that came from outside (model names, reasons, which may quote model outputs) is escaped
for mrkdwn (`&`, `<`, `>`), so nothing in it becomes a link, a mention or markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evals.alerts.message import AlertPayload
from evals.models import display_name

MAX_BLOCKS = 50
"""Slack refuses a message with more blocks."""
MAX_SECTION_TEXT = 3000
"""Characters of one section's text."""
MAX_HEADER_TEXT = 150
"""Characters of a header (plain text)."""
MAX_REASONS = 12
"""Reasons listed before the rest are counted as "and N more"."""
MAX_FALLBACK_TEXT = 4000
"""The plain-text fallback is cut here (Slack truncates long `text`)."""

_TITLES = {"switch_advisable": "Switch advisable", "stay": "Stay", "insufficient_evidence": "Insufficient evidence"}


@dataclass(frozen=True)
class SlackMessage:
    """A message ready for `chat.postMessage` or an incoming webhook."""

    text: str
    """The plain-text fallback (notifications, clients without Block Kit)."""
    blocks: list[dict[str, Any]]
    """Block Kit blocks."""


def escape(text: str) -> str:
    """*text* with mrkdwn's control characters escaped, as Slack asks (`&amp;`, `&lt;`, `&gt;`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(alert: AlertPayload, *, public_url: str | None = None) -> SlackMessage:
    """The Slack message of *alert*.

    Args:
        alert: The outbox row's payload.
        public_url: `TURNOUT_PUBLIC_URL`; with it a button links to the watch's dashboard page.

    Returns:
        Header, sections and context within Slack's limits, and the plain-text fallback.
    """
    title = _title(alert)
    lines = _lines(alert)
    header = {"type": "plain_text", "text": _cut(title, MAX_HEADER_TEXT), "emoji": False}
    blocks: list[dict[str, Any]] = [{"type": "header", "text": header}]
    for chunk in lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(chunk, MAX_SECTION_TEXT)}})
    reasons = _reasons(alert)
    if reasons:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(reasons, MAX_SECTION_TEXT)}})
    context = f"watch *{escape(alert.watch)}*" + (f" · cycle {alert.cycle_id}" if alert.cycle_id is not None else "")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    if public_url:
        url = f"{public_url.rstrip('/')}/watches/{alert.watch}"
        blocks.append({"type": "actions", "elements": [{"type": "button", "url": url, "action_id": "open_watch",
                                                         "text": {"type": "plain_text", "text": "Open the watch"}}]})
    blocks = blocks[:MAX_BLOCKS]
    text = _cut("\n".join([title, *lines, reasons]).strip(), MAX_FALLBACK_TEXT)
    return SlackMessage(text=text, blocks=blocks)


def _title(alert: AlertPayload) -> str:
    rec = alert.recommendation or {}
    if alert.kind == "verdict":
        verdict, production, to = rec.get("verdict"), rec.get("production"), rec.get("to")
        title = f"{_TITLES.get(str(verdict), str(verdict))}: {alert.watch}"
        if verdict == "switch_advisable":
            title += f" ({_shown(rec, production)} → {_shown(rec, to)})"
        return title
    if alert.kind == "failing":
        return f"Cycle failing: {alert.watch}" if alert.failure_kind else f"Runs failing: {alert.watch}"
    if alert.kind == "recovery":
        return f"Recovered: {alert.watch}"
    if alert.kind == "drift":
        return f"Drift: {alert.watch}"
    return f"Test message from Turnout: {alert.watch}"


def _shown(rec: dict[str, Any], name: Any) -> str:
    """A model's name from the recommendation, labelled `(simulated)` for a simulated model."""
    return display_name(str(name), simulated=name in (rec.get("simulated") or ()))


def _simulated_note(rec: dict[str, Any]) -> str | None:
    names = [str(name) for name in rec.get("simulated") or ()]
    if not names:
        return None
    return (f"_{escape(', '.join(names))} {'is a' if len(names) == 1 else 'are'} simulated "
            f"model{'' if len(names) == 1 else 's'} (kind: sim): {'its' if len(names) == 1 else 'their'} "
            "answers, latencies and costs are drawn from turnout.yaml, not measured on a real endpoint._")


def _number(value: Any, spec: str, suffix: str = "") -> str:
    return "n/a" if value is None else f"{format(value, spec)}{suffix}"


def _lines(alert: AlertPayload) -> list[str]:
    lines: list[str] = []
    rec = alert.recommendation
    if rec is not None:
        quality = rec.get("quality") or {}
        if quality:
            text = (f"*Quality* (candidate − production): {_number(quality.get('difference'), '+.3f')} "
                    f"[{_number(quality.get('ci_low'), '+.3f')}, {_number(quality.get('ci_high'), '+.3f')}], "
                    f"margin {_number(quality.get('margin'), '.3f')}, {quality.get('n_pairs', 0)} pairs")
            for name, seg in sorted((quality.get("segments") or {}).items()):
                text += (f"\n• {escape(name)}: {_number(seg.get('difference'), '+.3f')} "
                         f"[{_number(seg.get('ci_low'), '+.3f')}, {_number(seg.get('ci_high'), '+.3f')}]")
            lines.append(text)
        cost = rec.get("cost") or {}
        if cost.get("production_monthly_usd") is not None:
            lines.append(f"*Monthly cost*: production ${_number(cost.get('production_monthly_usd'), ',.2f')}, "
                         f"candidate ${_number(cost.get('candidate_monthly_usd'), ',.2f')}, saving "
                         f"{_number(None if cost.get('saving') is None else 100 * cost['saving'], '.0f', '%')}")
        latency = rec.get("latency") or {}
        lines.append(f"*p95 latency*: production {_number(latency.get('production_p95_ms'), '.0f', ' ms')}, "
                     f"candidate {_number(latency.get('candidate_p95_ms'), '.0f', ' ms')}, SLO "
                     f"{_number(latency.get('slo_p95_ms'), '.0f', ' ms')}")
        privacy = rec.get("privacy") or {}
        ok = privacy.get("candidate_ok")
        lines.append(f"*Privacy*: golden set is {escape(str(privacy.get('golden_set_class')))}; candidate "
                     f"{'qualifies' if ok else 'does not qualify' if ok is False else 'n/a'}")
        lines.append(f"{rec.get('consecutive', 0)} consecutive cycles (hysteresis {rec.get('hysteresis', 1)})")
        note = _simulated_note(rec)
        if note is not None:
            lines.append(note)
    if alert.failure_kind or alert.reason:
        lines.append(f"*Cycle failed* ({escape(alert.failure_kind or 'failed')}): {escape(alert.reason or '')}")
    if alert.failed_runs:
        lines.append("\n".join(f"*Run failed*: {escape(run.model)} ({escape(run.kind or 'failed')}): "
                               f"{escape(run.reason or '')}" for run in alert.failed_runs))
    if alert.recovered or alert.kind == "recovery":
        lines.append("The watch's cycles finish again after a failing one.")
    if alert.drift:
        lines.append("*Drift*: " + "; ".join(escape(line) for line in alert.drift))
    return lines


def _reasons(alert: AlertPayload) -> str:
    reasons = [str(reason) for reason in (alert.recommendation or {}).get("reasons", [])]
    if not reasons:
        return ""
    count = min(len(reasons), MAX_REASONS)
    while True:  # whole reasons are dropped until the section fits, never cut mid-escape
        shown = [f"• {escape(_cut(reason, 500))}" for reason in reasons[:count]]
        if len(reasons) > count:
            shown.append(f"and {len(reasons) - count} more")
        text = "*Reasons*\n" + "\n".join(shown)
        if len(text) <= MAX_SECTION_TEXT or count == 0:
            return text
        count -= 1


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
