"""The JSON payloads of an OpenAI-style event stream, read from the raw bytes without building SDK objects.

The openai SDK builds a pydantic object for every chunk of a streamed answer, which was about half
of the replay's CPU at concurrency 64 (benchmarks/results/replay-profile.summary.txt). This reads
the same bytes the way the SDK's `SSEDecoder` and `AsyncStream` do (lines end at CR, LF or CRLF;
`[DONE]` ends the stream; an `error` payload raises `openai.APIError`; transport errors become
`APITimeoutError` / `APIConnectionError`) and leaves each payload a plain `json.loads` value.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import NamedTuple, cast

import anyio
import httpx2
import openai

__all__ = ["Event", "EventDecoder", "iter_payloads"]

DRAIN_TIMEOUT_S = 0.1
"""After `[DONE]`, the rest of the body is read for this long at most, so the connection can be reused (as the SDK)."""
_TIMEOUTS = (httpx2.TimeoutException,)
_TRANSPORT_ERRORS = (httpx2.RequestError, ssl.SSLError, anyio.EndOfStream)


class Event(NamedTuple):
    """One server-sent event."""

    name: str | None
    data: str


class EventDecoder:
    """Turns chunks of bytes into events, incrementally (the SDK's `SSEDecoder`, field for field)."""

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._skip_lf = False
        self._event: str | None = None
        self._data: list[str] = []
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> Iterator[Event]:
        """Yield the events that `chunk` completes; lines are decoded one at a time, as they are reached."""
        if self._skip_lf:  # the previous chunk ended in CR: an LF here ends no second line
            self._skip_lf = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        if b"\n" not in chunk and b"\r" not in chunk:
            if chunk:
                self._pending.append(chunk)
            return
        if self._pending:
            chunk = b"".join(self._pending) + chunk
            self._pending.clear()
        self._skip_lf = chunk.endswith(b"\r")
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, tail = chunk.split(b"\n")
        if tail:
            self._pending.append(tail)
        for line in lines:
            event = self._decode(line.decode("utf-8"))
            if event is not None:
                yield event

    def _decode(self, line: str) -> Event | None:
        if not line:
            if not self._event and not self._data and not self._last_id and self._retry is None:
                return None
            event = Event(self._event or None, "\n".join(self._data))
            self._event, self._data, self._retry = None, [], None  # the last event id persists (SSE spec)
            return event
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._last_id = value
        elif field == "retry":
            try:
                self._retry = int(value)
            except ValueError:
                pass
        return None


async def iter_payloads(response: httpx2.Response) -> AsyncGenerator[object, None]:
    """The parsed JSON of each event of a chat-completion stream, up to `[DONE]`.

    Args:
        response: An open streaming response with a 2xx status.

    Yields:
        Each event's `json.loads` value (anything JSON can be; the caller checks its shape).

    Raises:
        json.JSONDecodeError: An event's data is not JSON.
        openai.APIError: The server sent an error event inside the stream.
        openai.APITimeoutError: A read timed out.
        openai.APIConnectionError: The connection failed mid-stream.
    """
    decoder = EventDecoder()
    try:
        async for chunk in response.aiter_bytes():
            for event in decoder.feed(chunk):
                if event.data.startswith("[DONE]"):
                    if response.http_version == "HTTP/1.1":
                        await _drain(response)
                    return
                data = json.loads(event.data)
                is_thread_event = event.name is not None and event.name.startswith("thread.")
                if not is_thread_event and isinstance(data, dict) and data.get("error"):
                    raise _stream_error(data["error"], response)
                yield data
    except _TIMEOUTS as err:
        raise openai.APITimeoutError(request=response.request) from err
    except _TRANSPORT_ERRORS as err:
        raise openai.APIConnectionError(request=response.request) from err


def _stream_error(error: object, response: httpx2.Response) -> openai.APIError:
    message = error.get("message") if isinstance(error, dict) else None
    if not message or not isinstance(message, str):
        message = "An error occurred during streaming"
    return openai.APIError(message=message, request=response.request, body=error)


async def _drain(response: httpx2.Response) -> None:
    """Read what follows `[DONE]` (briefly) and close, so an HTTP/1.1 connection goes back to the pool."""
    if response.is_closed:
        return
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            # The transport's own bytes: `aiter_raw` would refuse a stream already being read.
            async for _ in cast("AsyncIterator[bytes]", response.stream):
                pass
    except (TimeoutError, *_TRANSPORT_ERRORS, httpx2.StreamConsumed):
        pass  # cleanup must not turn a finished answer into an error
    finally:
        await response.aclose()
