"""A local OpenAI-compatible chat server for tests, speaking the real protocol over real HTTP.

It serves `POST /v1/chat/completions` (whole and SSE-streamed) and `GET /v1/models` with
OpenAI's response and error shapes, and can be scripted to fail:

- `peer.fail_next(n, kind)`: the next n chat requests fail with `kind`;
- `peer.fault_rate` / `peer.fault_kinds`: each request fails with that probability (seeded RNG);
- a user message containing a line `FAULT: <kind>` fails every time it is sent.

It answers with `peer.answer(messages)`; with `peer.sample` set, a request at a temperature above 0
(or without one: OpenAI's default is 1) is answered with `peer.sample(messages, temperature)` instead,
as an endpoint that is deterministic only at temperature 0.

Kinds: "429" (with Retry-After), "500", "503", "400", "hang" (answers nothing for `hang_s`),
"stall" (streams one chunk, then hangs), "malformed" (200 with a body or a chunk that is not JSON),
"truncate" (a stream ends with `[DONE]` but no finish_reason, as llama-cpp-python's server does to
a stream when another request arrives; whole answers are not affected).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.peers.serving import ThreadedServer

FaultKind = Literal["429", "500", "503", "400", "hang", "stall", "malformed", "truncate"]
Messages = list[dict[str, Any]]

_FAULT_LINE = re.compile(r"^FAULT:\s*(\S+)\s*$", re.MULTILINE)
_ANSWER_LINE = re.compile(r"^ANSWER:\s*(.*?)\s*$", re.MULTILINE)
_TOKEN = re.compile(r"\S+\s*|\s+")
_ERRORS: dict[str, tuple[str, str, str | None]] = {
    "400": ("Invalid request: the messages are not acceptable.", "invalid_request_error", None),
    "429": ("Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
    "500": ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    "503": ("The engine is currently overloaded, please try again later.", "server_error", None),
}


def last_user_text(messages: Messages) -> str:
    """The content of the last user message ('' when there is none)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def default_answer(messages: Messages) -> str:
    """Answer `xyz` when the last user message has a line `ANSWER: xyz`, else echo it."""
    text = last_user_text(messages)
    found = _ANSWER_LINE.search(text)
    return found.group(1) if found else f"echo: {text}"


def split_tokens(text: str) -> list[str]:
    """The peer's 'tokens': words with their trailing space (streamed one per chunk)."""
    return _TOKEN.findall(text)


def error_body(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
    """An error in OpenAI's shape."""
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


class OpenAIPeer:
    """An OpenAI-compatible server on 127.0.0.1 in a background thread; use as a context manager.

    Every attribute set in the constructor may be changed while it runs.
    """

    def __init__(
        self,
        *,
        answer: Callable[[Messages], str] = default_answer,
        sample: Callable[[Messages, float], str] | None = None,
        latency_s: float = 0.0,
        token_delay_s: float = 0.0,
        fingerprint: str | None = "fp_peer_0001",
        served_model: str | None = None,
        models: Sequence[str] = ("peer-model",),
        send_usage_when_streaming: bool = True,
        retry_after: str | None = "1",
        retry_after_ms: str | None = None,
        fault_rate: float = 0.0,
        fault_kinds: Sequence[FaultKind] = ("500",),
        seed: int = 0,
        hang_s: float = 30.0,
    ) -> None:
        self.answer = answer
        self.sample = sample
        """Answers requests sampled at a temperature above 0; None answers them with `answer` too."""
        self.latency_s = latency_s
        """Delay before the first byte of an answer."""
        self.token_delay_s = token_delay_s
        """Delay between streamed chunks."""
        self.fingerprint = fingerprint
        self.served_model = served_model
        """The model name answered with; None echoes the requested one."""
        self.models = list(models)
        self.send_usage_when_streaming = send_usage_when_streaming
        """False mimics llama.cpp's server, which ignored `stream_options.include_usage`."""
        self.retry_after = retry_after
        """`Retry-After` sent with 429 and 503 (seconds or an HTTP date); None sends none."""
        self.retry_after_ms = retry_after_ms
        self.fault_rate = fault_rate
        self.fault_kinds = list(fault_kinds)
        self.hang_s = hang_s
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._planned: list[FaultKind] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._ids = itertools.count(1)
        self._serving: ThreadedServer | None = None
        self.base_url = ""
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    # -- scripting and inspection (thread-safe) --

    def fail_next(self, n: int, kind: FaultKind) -> None:
        """Make the next `n` chat requests fail with `kind`."""
        with self._lock:
            self._planned.extend([kind] * n)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat requests received so far."""
        with self._lock:
            return list(self._requests)

    @property
    def max_in_flight(self) -> int:
        """The most chat requests that were being answered at once."""
        with self._lock:
            return self._max_in_flight

    # -- lifecycle --

    def __enter__(self) -> OpenAIPeer:
        self._serving = ThreadedServer(self.app, name="OpenAI peer")
        port = self._serving.start()
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._serving is not None:
            self._serving.stop()

    # -- handlers --

    async def _models(self, request: Request) -> Response:
        data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "peer"} for m in self.models]
        return JSONResponse({"object": "list", "data": data})

    async def _chat(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse(error_body("We could not parse the JSON body of your request.",
                                           "invalid_request_error"), status_code=400)
        with self._lock:
            self._requests.append(body)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        streaming = False
        try:
            response = await self._respond(request, body)
            streaming = isinstance(response, StreamingResponse)
            return response
        finally:
            if not streaming:  # a stream leaves the count when its last chunk is sent
                self._leave()

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _fault_for(self, messages: Messages) -> str | None:
        found = _FAULT_LINE.search(last_user_text(messages))
        if found:
            return found.group(1)
        with self._lock:
            if self._planned:
                return self._planned.pop(0)
        if self.fault_rate and self._rng.random() < self.fault_rate:
            return self._rng.choice(self.fault_kinds)
        return None

    async def _respond(self, request: Request, body: dict[str, Any]) -> Response:
        messages = body.get("messages")
        model = body.get("model")
        if not isinstance(messages, list) or not messages or not isinstance(model, str):
            return JSONResponse(error_body("'messages' and 'model' are required.", "invalid_request_error"),
                                status_code=400)
        if self.models and model not in self.models:
            return JSONResponse(
                error_body(f"The model `{model}` does not exist or you do not have access to it.",
                           "invalid_request_error", "model_not_found"),
                status_code=404,
            )
        fault = self._fault_for(messages)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if fault in _ERRORS:
            message, type_, code = _ERRORS[fault]
            headers = {}
            if fault in ("429", "503"):
                if self.retry_after is not None:
                    headers["retry-after"] = self.retry_after
                if self.retry_after_ms is not None:
                    headers["retry-after-ms"] = self.retry_after_ms
            return JSONResponse(error_body(message, type_, code), status_code=int(fault), headers=headers)
        if fault == "hang" or (fault == "stall" and not body.get("stream")):
            await self._hang(request)
            return Response(status_code=504)
        temperature = body.get("temperature")
        temperature = 1.0 if temperature is None else temperature  # OpenAI's default
        if self.sample is not None and isinstance(temperature, int | float) and temperature > 0:
            text = self.sample(messages, float(temperature))
        else:
            text = self.answer(messages)
        tokens = split_tokens(text)
        finish = "stop"
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int) and len(tokens) > limit:
            tokens, finish = tokens[:limit], "length"
        usage = self._usage(messages, tokens)
        reply_id = f"chatcmpl-peer{next(self._ids)}"
        served = self.served_model or model
        if body.get("stream"):
            chunks = self._chunks(request, reply_id, served, tokens, finish, usage, body, fault)
            return StreamingResponse(chunks, media_type="text/event-stream",
                                     headers={"x-request-id": reply_id})
        if fault == "malformed":
            return Response('{"id": "chatcmpl-broken", "choices": [', media_type="application/json")
        return JSONResponse(
            {
                "id": reply_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": served,
                "system_fingerprint": self.fingerprint,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(tokens), "refusal": None},
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
                "usage": usage,
                "service_tier": "default",
            },
            headers={"x-request-id": reply_id},
        )

    def _usage(self, messages: Messages, tokens: list[str]) -> dict[str, int]:
        prompt = sum(len(str(m.get("content", "")).split()) + 3 for m in messages)
        return {"prompt_tokens": prompt, "completion_tokens": len(tokens), "total_tokens": prompt + len(tokens)}

    async def _hang(self, request: Request) -> None:
        """Say nothing until the client gives up (or `hang_s` passes)."""
        deadline = time.monotonic() + self.hang_s
        while time.monotonic() < deadline and not await request.is_disconnected():
            await asyncio.sleep(0.02)

    async def _chunks(
        self,
        request: Request,
        reply_id: str,
        model: str,
        tokens: list[str],
        finish: str,
        usage: dict[str, int],
        body: dict[str, Any],
        fault: str | None,
    ) -> AsyncIterator[str]:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        with_usage = include_usage and self.send_usage_when_streaming
        created = int(time.time())

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
            data = {"id": reply_id, "object": "chat.completion.chunk", "created": created, "model": model,
                    "system_fingerprint": self.fingerprint, "choices": choices, **extra}
            if with_usage:
                data.setdefault("usage", None)
            return f"data: {json.dumps(data)}\n\n"

        def choice(delta: dict[str, Any], finish_reason: str | None = None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]

        try:
            yield chunk(choice({"role": "assistant", "content": "", "refusal": None}))
            if fault == "malformed":
                yield 'data: {"id": "chatcmpl-broken", "choices": [\n\n'
                return
            for i, token in enumerate(tokens):
                if self.token_delay_s:
                    await asyncio.sleep(self.token_delay_s)
                yield chunk(choice({"content": token}))
                if fault == "stall" and i == 0:
                    await self._hang(request)
                    return
                if fault == "truncate" and i == 0:
                    yield "data: [DONE]\n\n"
                    return
            yield chunk(choice({}, finish))
            if with_usage:
                yield chunk([], usage=usage)
            yield "data: [DONE]\n\n"
        finally:
            self._leave()
