"""A local Slack Web API server for tests, speaking the real protocol over real HTTP.

It serves `chat.postMessage`, `chat.update`, `conversations.history`, `conversations.replies` and `conversations.list`
under `/api/` (form, query-string or JSON bodies, as `slack_sdk.WebClient` sends them), an incoming
webhook (`/services/T0PEER/B0PEER/peersecret`; any other path answers 404 `no_service`, as Slack's
does) and a generic JSON webhook (`/hooks/generic`: a JSON object with an `Idempotency-Key` header, and with
`webhook_secret` set an `X-Turnout-Signature: sha256=<HMAC-SHA256 of the raw body>` it checks, answering
401 to a missing or wrong one), with Slack's answer
shapes: HTTP 200 with `{"ok": false, "error": ...}` for API errors (`not_authed`, `invalid_auth`,
`channel_not_found`, `invalid_blocks`, `no_text`, `invalid_metadata_format`, `message_not_found`),
429 `ratelimited` with `Retry-After`, and 5xx on demand. Messages are kept per channel with their
`metadata`, thread replies beside their parent.

Scripting:

- `peer.fail_next(n, kind, endpoint=None)`: the next n requests (to any endpoint, or only to `endpoint`:
  "api", "webhook", "generic") fail with `kind` ("429", "500", "503");
- `peer.down = True`: every request answers 503 until it is set back (or only one endpoint's, when it
  names one);
- `peer.hold_after_store()`: the next `chat.postMessage` is stored, then its reply waits until the
  returned event is set (or the connection is gone): the window in which a worker can die.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.peers.serving import ThreadedServer
from tests.peers.slack_checks import block_errors, check_message, error

FaultKind = Literal["429", "500", "503"]
Endpoint = Literal["api", "webhook", "generic"]

WEBHOOK_PATH = "/services/T0PEER/B0PEER/peersecret"
"""The incoming webhook's path; its last part is the secret Slack checks."""


@dataclass
class StoredMessage:
    """A message as the peer keeps it in a channel's history."""

    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    metadata: dict[str, Any] | None
    thread_ts: str | None = None
    edits: int = 0
    replies: list[StoredMessage] = field(default_factory=list)

    def as_api(self, *, with_metadata: bool) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "message", "user": "U0TURNOUT", "bot_id": "B0TURNOUT",
                                   "ts": self.ts, "text": self.text}
        if self.blocks is not None:
            message["blocks"] = self.blocks
        if self.thread_ts is not None:
            message["thread_ts"] = self.thread_ts
        if self.replies:
            message["thread_ts"], message["reply_count"] = self.ts, len(self.replies)
        if self.edits:
            message["edited"] = {"user": "U0TURNOUT", "ts": self.ts}
        if with_metadata and self.metadata is not None:
            message["metadata"] = self.metadata
        return message


class SlackPeer:
    """A Slack Web API server on 127.0.0.1 in a background thread; use as a context manager."""

    def __init__(self, *, token: str = "xoxb-peer-token", channels: dict[str, str] | None = None,
                 retry_after: str = "1", webhook_secret: str | None = None) -> None:
        self.token = token
        """The only bot token accepted."""
        self.webhook_secret = webhook_secret
        """With it, the generic webhook accepts only bodies signed with it."""
        self.channels = dict(channels or {"llm-ops": "C0LLMOPS"})
        """Channel name -> ID; a channel is addressed by either (`#name` too)."""
        self.retry_after = retry_after
        self.down: bool | Endpoint = False
        """While True every request answers 503; while it names an endpoint, that endpoint's do."""
        self._lock = threading.Lock()
        self._history: dict[str, list[StoredMessage]] = {cid: [] for cid in self.channels.values()}
        self._planned: list[tuple[FaultKind, Endpoint | None]] = []
        self._calls: list[tuple[str, dict[str, Any]]] = []
        self._webhook: list[dict[str, Any]] = []
        self._generic: list[tuple[dict[str, str], bytes]] = []
        self._generic_requests: list[tuple[dict[str, str], bytes]] = []
        self._rejected: list[tuple[int, str]] = []
        self._hold: threading.Event | None = None
        self._held = threading.Event()
        self._last_ts = 0.0
        self._serving: ThreadedServer | None = None
        self.base_url = ""
        """The Web API base URL, for `WebClient(base_url=...)`."""
        self.webhook_url = ""
        self.generic_url = ""
        self.app = Starlette(routes=[
            Route("/api/{method}", self._api, methods=["GET", "POST"]),
            Route("/services/{team}/{bot}/{secret}", self._incoming_webhook, methods=["POST"]),
            Route("/hooks/generic", self._generic_webhook, methods=["POST"]),
        ])

    # -- scripting and inspection (thread-safe) --

    def fail_next(self, n: int, kind: FaultKind, endpoint: Endpoint | None = None) -> None:
        """Make the next `n` requests (to *endpoint*, or to any) fail with `kind`."""
        with self._lock:
            self._planned.extend([(kind, endpoint)] * n)

    def hold_after_store(self) -> threading.Event:
        """Store the next posted message, then hold its reply until the returned event is set."""
        event = threading.Event()
        with self._lock:
            self._hold = event
            self._held.clear()
        return event

    def wait_held(self, timeout: float = 30.0) -> bool:
        """Wait until a held message has been stored (its reply not sent)."""
        return self._held.wait(timeout)

    def messages(self, channel: str = "llm-ops") -> list[StoredMessage]:
        """The top-level messages of *channel* (name or ID), oldest first."""
        with self._lock:
            return list(self._history[self._channel_id(channel) or channel])

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every Web API call received, as (method, arguments), faults included."""
        with self._lock:
            return list(self._calls)

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    @property
    def webhook_posts(self) -> list[dict[str, Any]]:
        """The JSON bodies the incoming webhook accepted."""
        with self._lock:
            return list(self._webhook)

    @property
    def generic_posts(self) -> list[tuple[dict[str, str], bytes]]:
        """The (headers, raw body) of each request the generic webhook accepted."""
        with self._lock:
            return list(self._generic)

    @property
    def generic_requests(self) -> list[tuple[dict[str, str], bytes]]:
        """The (headers, raw body) of every request to the generic webhook, faults and refusals included."""
        with self._lock:
            return list(self._generic_requests)

    @property
    def rejected(self) -> list[tuple[int, str]]:
        """(status, reason) of each webhook request refused (bad path, body, key or signature)."""
        with self._lock:
            return list(self._rejected)

    # -- lifecycle --

    def __enter__(self) -> SlackPeer:
        self._serving = ThreadedServer(self.app, name="Slack peer")
        port = self._serving.start()
        root = f"http://127.0.0.1:{port}"
        self.base_url = f"{root}/api/"
        self.webhook_url = f"{root}{WEBHOOK_PATH}"
        self.generic_url = f"{root}/hooks/generic"
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with self._lock:
            if self._hold is not None:
                self._hold.set()
        if self._serving is not None:
            self._serving.stop()

    # -- handlers --

    def _fault(self, endpoint: Endpoint) -> Response | None:
        with self._lock:
            planned = next((i for i, (_, where) in enumerate(self._planned) if where in (None, endpoint)), None)
            down = self.down is True or self.down == endpoint
            kind: str | None = self._planned.pop(planned)[0] if planned is not None else ("503" if down else None)
        if kind == "429":
            return JSONResponse({"ok": False, "error": "ratelimited"}, status_code=429,
                                headers={"Retry-After": self.retry_after})
        if kind is not None:
            return PlainTextResponse("upstream connect error", status_code=int(kind))
        return None

    async def _arguments(self, request: Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query_params)
        raw = await request.body()
        kind = request.headers.get("content-type", "")
        if raw and kind.startswith("application/json"):
            args.update(json.loads(raw))
        elif raw:
            for key, value in parse_qsl(raw.decode()):
                args[key] = value
        for key in ("blocks", "metadata"):  # form bodies carry these as JSON strings
            if isinstance(args.get(key), str):
                try:
                    args[key] = json.loads(args[key])
                except json.JSONDecodeError:
                    args[key] = None if key == "metadata" else "invalid"
        return args

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        args = await self._arguments(request)
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        with self._lock:
            self._calls.append((method, {k: v for k, v in args.items() if k != "token"}))
        fault = self._fault("api")
        if fault is not None:
            return fault
        if not token:
            return error("not_authed")
        if token != self.token:
            return error("invalid_auth")
        handler = {"chat.postMessage": self._post, "chat.update": self._update,
                   "conversations.history": self._history_of, "conversations.replies": self._replies,
                   "conversations.list": self._list}.get(method)
        if handler is None:
            return error("unknown_method")
        return await handler(args)

    def _channel_id(self, channel: Any) -> str | None:
        if not isinstance(channel, str):
            return None
        name = channel.removeprefix("#")
        if name in self.channels:
            return self.channels[name]
        return channel if channel in self._history else None

    def _next_ts(self) -> str:
        # Slack's ts are microsecond times, unique per channel: strictly increasing here.
        self._last_ts = max(time.time(), self._last_ts + 1e-6)
        return f"{self._last_ts:.6f}"

    async def _post(self, args: dict[str, Any]) -> Response:
        channel = self._channel_id(args.get("channel"))
        if channel is None:
            return error("channel_not_found")
        problem = check_message(args)
        if problem is not None:
            return problem
        with self._lock:
            message = StoredMessage(ts=self._next_ts(), text=str(args.get("text") or ""), blocks=args.get("blocks"),
                                    metadata=args.get("metadata"), thread_ts=args.get("thread_ts"))
            if message.thread_ts is not None:
                parent = next((m for m in self._history[channel] if m.ts == message.thread_ts), None)
                if parent is None:
                    return error("thread_not_found")
                parent.replies.append(message)
            else:
                self._history[channel].append(message)
            hold, self._hold = self._hold, None
        if hold is not None:
            self._held.set()
            while not hold.is_set():  # the reply waits; a killed client simply never reads it
                await asyncio.sleep(0.05)
        return JSONResponse({"ok": True, "channel": channel, "ts": message.ts,
                             "message": message.as_api(with_metadata=True)})

    async def _update(self, args: dict[str, Any]) -> Response:
        channel = args.get("channel")
        if not isinstance(channel, str) or channel not in self._history:
            return error("channel_not_found")  # chat.update takes the channel's ID only
        problem = check_message(args)
        if problem is not None:
            return problem
        with self._lock:
            message = next((m for m in self._history[channel] if m.ts == args.get("ts")), None)
            if message is None:
                return error("message_not_found")
            message.text, message.blocks = str(args.get("text") or ""), args.get("blocks")
            message.edits += 1
        return JSONResponse({"ok": True, "channel": channel, "ts": message.ts, "text": message.text})

    async def _history_of(self, args: dict[str, Any]) -> Response:
        channel = args.get("channel")
        if not isinstance(channel, str) or channel not in self._history:
            return error("channel_not_found")  # conversations.* take the channel's ID only
        oldest = float(args.get("oldest") or 0)
        with_metadata = str(args.get("include_all_metadata", "0")).lower() in ("1", "true")
        limit = int(args.get("limit") or 100)
        with self._lock:
            found = [m.as_api(with_metadata=with_metadata) for m in reversed(self._history[channel])
                     if float(m.ts) > oldest]
        return JSONResponse({"ok": True, "messages": found[:limit], "has_more": len(found) > limit,
                             "response_metadata": {"next_cursor": ""}})

    async def _replies(self, args: dict[str, Any]) -> Response:
        channel = args.get("channel")
        if not isinstance(channel, str) or channel not in self._history:
            return error("channel_not_found")
        with_metadata = str(args.get("include_all_metadata", "0")).lower() in ("1", "true")
        with self._lock:
            parent = next((m for m in self._history[channel] if m.ts == args.get("ts")), None)
            if parent is None:
                return error("thread_not_found")
            found = [m.as_api(with_metadata=with_metadata) for m in [parent, *parent.replies]]
        return JSONResponse({"ok": True, "messages": found, "has_more": False})

    async def _list(self, args: dict[str, Any]) -> Response:
        channels = [{"id": cid, "name": name, "is_channel": True} for name, cid in self.channels.items()]
        return JSONResponse({"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}})

    def _reject(self, status: int, reason: str) -> Response:
        with self._lock:
            self._rejected.append((status, reason))
        return PlainTextResponse(reason, status_code=status)

    async def _incoming_webhook(self, request: Request) -> Response:
        fault = self._fault("webhook")
        if fault is not None:
            return fault
        if request.url.path != WEBHOOK_PATH:
            return self._reject(404, "no_service")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self._reject(400, "invalid_payload")
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._reject(400, "invalid_payload")
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return self._reject(400, "no_text")
        if block_errors(body.get("blocks")):
            return self._reject(400, "invalid_blocks")
        with self._lock:
            self._webhook.append(body)
        return PlainTextResponse("ok")

    async def _generic_webhook(self, request: Request) -> Response:
        raw = await request.body()
        with self._lock:
            self._generic_requests.append(({k.lower(): v for k, v in request.headers.items()}, raw))
        fault = self._fault("generic")
        if fault is not None:
            return fault
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self._reject(415, "the body must be application/json")
        try:
            if not isinstance(json.loads(raw), dict):
                return self._reject(400, "the body must be a JSON object")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._reject(400, "the body is not JSON")
        if not request.headers.get("idempotency-key"):
            return self._reject(400, "no Idempotency-Key header")
        if self.webhook_secret is not None:
            want = "sha256=" + hmac.new(self.webhook_secret.encode(), raw, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(request.headers.get("x-turnout-signature", ""), want):
                return self._reject(401, "bad or missing X-Turnout-Signature")
        with self._lock:
            self._generic.append(({k.lower(): v for k, v in request.headers.items()}, raw))
        return JSONResponse({"received": True})
