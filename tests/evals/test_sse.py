"""Reading an event stream from raw bytes as the openai SDK's decoder does, however the bytes are split."""

from __future__ import annotations

import pytest

from evals.providers.sse import Event, EventDecoder

BODY = b'data: {"a": 1}\n\n: keep-alive\n\nevent: delta\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n'
EXPECTED = [Event(None, '{"a": 1}'), Event("delta", "line one\nline two"), Event(None, "[DONE]")]


def decode(pieces: list[bytes]) -> list[Event]:
    decoder = EventDecoder()
    return [event for piece in pieces for event in decoder.feed(piece)]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("size", [1, 2, 7, 1000])
def test_events_do_not_depend_on_line_endings_or_chunking(newline: bytes, size: int) -> None:
    body = BODY.replace(b"\n", newline)

    got = decode([body[i : i + size] for i in range(0, len(body), size)])

    assert got == EXPECTED


def test_only_cr_lf_and_crlf_end_lines() -> None:
    # Unicode line separators may appear raw in JSON strings (str.splitlines would cut there).
    text = 'data: {"content": "a\u2028b\x85c"}\n\n'

    assert decode([text.encode()]) == [Event(None, '{"content": "a\u2028b\x85c"}')]


def test_an_event_without_its_blank_line_is_not_dispatched() -> None:
    assert decode([b'data: {"a": 1}\n\ndata: {"b": 2}\n']) == [Event(None, '{"a": 1}')]


def test_an_event_id_makes_every_blank_line_an_event_as_in_the_sdk() -> None:
    assert decode([b"id: 7\n\n\n"]) == [Event(None, ""), Event(None, "")]


def test_a_line_that_is_not_utf8_is_an_error() -> None:
    with pytest.raises(UnicodeDecodeError):
        decode([b"data: \xff\n\n"])
