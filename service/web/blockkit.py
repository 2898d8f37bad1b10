"""Block Kit blocks as HTML, to preview an alert as Slack would show it.

Every piece of text is HTML-escaped first; only then are mrkdwn's marks (`*bold*`, `_italic_`,
`` `code` ``, `<url|label>`) turned into tags, so no text of a watch, a model or a reason can add
markup of its own.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

_LINK = re.compile(r"&lt;(https?://[^|&\s]+)(?:\|([^&]*?))?&gt;")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
_CODE = re.compile(r"`([^`\n]+)`")


def mrkdwn(text: str) -> Markup:
    """Slack mrkdwn as safe HTML. Slack's own escapes (`&amp;`, `&lt;`, `&gt;`) are undone first, so a
    link written `<url|label>` is a link and an escaped `&lt;script&gt;` stays text."""
    raw = text.replace("&lt;", "\x00lt").replace("&gt;", "\x00gt").replace("&amp;", "&")
    html = str(escape(raw))
    html = _LINK.sub(lambda m: f'<a href="{m.group(1)}" rel="noopener">{m.group(2) or m.group(1)}</a>', html)
    html = _CODE.sub(r"<code>\1</code>", html)
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    html = _ITALIC.sub(r"<em>\1</em>", html)
    html = html.replace("\x00lt", "&lt;").replace("\x00gt", "&gt;").replace("\n", "<br>")
    return Markup(html)


def _text(obj: dict[str, Any] | None) -> Markup:
    if not obj:
        return Markup("")
    text = str(obj.get("text", ""))
    return mrkdwn(text) if obj.get("type") == "mrkdwn" else Markup(escape(text))


def blocks_html(blocks: list[dict[str, Any]]) -> Markup:
    """The blocks as a `<div class="slack">` preview."""
    parts = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            parts.append(Markup('<p class="slack-header">{}</p>').format(_text(block.get("text"))))
        elif kind == "section":
            fields = Markup("").join(Markup('<div class="slack-field">{}</div>').format(_text(f))
                                     for f in block.get("fields", []))
            parts.append(Markup('<div class="slack-section">{}{}</div>').format(_text(block.get("text")), fields))
        elif kind == "context":
            items = Markup(" · ").join(_text(e) for e in block.get("elements", []))
            parts.append(Markup('<p class="slack-context">{}</p>').format(items))
        elif kind == "divider":
            parts.append(Markup("<hr>"))
        elif kind == "actions":
            buttons = Markup("").join(
                Markup('<a class="slack-button" href="{}" rel="noopener">{}</a>').format(
                    e.get("url", "#"), _text(e.get("text"))) for e in block.get("elements", []))
            parts.append(Markup('<p class="slack-actions">{}</p>').format(buttons))
        else:
            parts.append(Markup('<p class="slack-context">({} block)</p>').format(kind))
    return Markup('<div class="slack">{}</div>').format(Markup("").join(parts))
