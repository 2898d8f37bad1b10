"""What the Slack peer checks in a message, with Slack's answers: its text, Block Kit blocks and metadata.

The limits are Slack's (50 blocks, 3,000 characters a section, 150 a header, 40,000 of text); the
errors carry Slack's codes (`no_text`, `msg_too_long`, `invalid_blocks` with its json-pointer
messages, `invalid_metadata_format`).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_TEXT = 40000


def error(code: str, **extra: Any) -> JSONResponse:
    """A Web API error as Slack answers it: HTTP 200 with `ok: false` and the error's code."""
    return JSONResponse({"ok": False, "error": code, **extra})


def check_message(args: dict[str, Any]) -> JSONResponse | None:
    """Slack's answer to a `chat.postMessage` / `chat.update` it refuses; None for a message it takes."""
    blocks = args.get("blocks")
    if not args.get("text") and not blocks:
        return error("no_text")
    if len(str(args.get("text") or "")) > MAX_TEXT:
        return error("msg_too_long")
    errors = block_errors(blocks)
    if errors:
        return error("invalid_blocks", errors=errors)
    metadata = args.get("metadata")
    if metadata is not None and not (isinstance(metadata, dict) and isinstance(metadata.get("event_type"), str)
                                     and isinstance(metadata.get("event_payload"), dict)):
        return error("invalid_metadata_format")
    return None


def block_errors(blocks: Any) -> list[str]:
    """`invalid_blocks`' messages for *blocks*, with their json-pointers; empty when Slack would take them."""
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    errors = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        text = block.get("text") if isinstance(block, dict) else None
        if kind not in ("section", "header", "context", "divider", "actions"):
            errors.append(f"unsupported type [json-pointer:/blocks/{i}/type]")
        elif kind == "header":
            if not isinstance(text, dict) or text.get("type") != "plain_text":
                errors.append(f"must be plain_text [json-pointer:/blocks/{i}/text]")
            elif len(str(text.get("text", ""))) > MAX_HEADER_TEXT:
                errors.append(f"must be less than {MAX_HEADER_TEXT + 1} characters [json-pointer:/blocks/{i}/text]")
        elif kind == "section":
            fields = block.get("fields") or []
            if text is None and not fields:
                errors.append(f"must provide text or fields [json-pointer:/blocks/{i}]")
            for part in [text, *fields] if text is not None else fields:
                if not isinstance(part, dict) or part.get("type") not in ("mrkdwn", "plain_text"):
                    errors.append(f"invalid text object [json-pointer:/blocks/{i}/text]")
                elif len(str(part.get("text", ""))) > MAX_SECTION_TEXT:
                    errors.append(f"must be less than {MAX_SECTION_TEXT + 1} characters "
                                  f"[json-pointer:/blocks/{i}/text]")
    return errors
