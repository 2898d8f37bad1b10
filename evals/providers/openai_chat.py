"""Any OpenAI-compatible chat endpoint (OpenAI, Azure, Mistral, vLLM, llama.cpp) through the official SDK.

The SDK sends over its aiohttp transport (`openai[aiohttp]`): aiohttp parses HTTP in C, which
lets one process keep more requests in flight than the default httpx2 transport (benchmarks/replay.py
measures both). The SDK's own retries are off: this module retries, so every attempt is counted on
the Completion, and it alone decides what is retryable (`classify`). Every attempt passes through the model's
`ModelLimits` (adaptive concurrency, rpm/tpm, pauses a server asked for) and reports back how it
ended, headers included.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import httpx2
import openai
import pydantic
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from evals.cost import CostModel, estimate_request_tokens, estimate_tokens
from evals.limits import AdaptiveConcurrency, ModelLimits, retry_after_s
from evals.models import ModelSpec
from evals.providers.sse import iter_payloads
from evals.results import RETRYABLE, Completion, ErrorKind, Request

__all__ = ["BadResponse", "OpenAIChatProvider", "TruncatedStream", "classify", "describe", "estimate_tokens",
           "retry_after_s"]

BACKOFF_BASE_S = 0.5
"""First retry waits up to this long (full jitter), doubling per retry."""
BACKOFF_CAP_S = 20.0
"""No computed backoff waits longer than this."""
RETRY_AFTER_CAP_S = 120.0
"""A server's Retry-After is honoured up to this long, so one bad header cannot park a worker for hours."""

Sleep = Callable[[float], Awaitable[None]]
_OWN_KWARGS = frozenset({"model", "messages", "stream", "stream_options", "extra_body"})


class BadResponse(Exception):
    """A 200 whose body is not a usable chat completion."""


class TruncatedStream(Exception):
    """A stream that ended without a finish_reason: the server cut the answer short.

    llama-cpp-python's server does this to a stream when another request arrives
    (`interrupt_requests`, on by default); it still sends `[DONE]`.
    """


@dataclass
class _Answer:
    """What one successful attempt produced (filled in as a stream arrives)."""

    output: str = ""
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    finish_reason: str | None = None
    fingerprint: str | None = None
    served_model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    headers: Mapping[str, str] | None = None


def _usage(usage: object) -> tuple[int | None, int | None]:
    """Prompt and completion token counts, None where the server sent none."""
    prompt = getattr(usage, "prompt_tokens", None)
    completion = getattr(usage, "completion_tokens", None)
    return (
        prompt if isinstance(prompt, int) else None,
        completion if isinstance(completion, int) else None,
    )


def _stream_usage(usage: object) -> tuple[int | None, int | None]:
    """Token counts from a stream's usage payload, coerced as the SDK does ("10" -> 10) when it validates."""
    if not isinstance(usage, dict):
        return None, None  # the SDK keeps a non-object as is, and it has no token fields
    try:
        return _usage(CompletionUsage.model_validate(usage))
    except pydantic.ValidationError:
        return _usage(SimpleNamespace(**usage))  # the SDK falls back to the raw fields


def classify(exc: BaseException) -> ErrorKind:
    """Say how a call failed; kinds in `RETRYABLE` are worth another attempt.

    Args:
        exc: The exception raised by one attempt.

    Returns:
        The error kind stored with the Completion.
    """
    if isinstance(exc, TruncatedStream):
        return "server"
    if (cause := _transport_error(exc)) is not None:
        return "timeout" if isinstance(cause, TimeoutError) else "connection"
    if isinstance(exc, (openai.APITimeoutError, TimeoutError, httpx2.TimeoutException)):
        return "timeout"
    if isinstance(exc, (openai.APIConnectionError, httpx2.TransportError)):
        return "connection"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429:
            return "rate_limit"
        if status == 408:
            return "timeout"
        if status >= 500:
            return "server"
        return "bad_request"
    if isinstance(exc, (BadResponse, openai.APIResponseValidationError, ValueError, pydantic.ValidationError)):
        return "bad_response"  # json.JSONDecodeError is a ValueError
    if isinstance(exc, openai.APIError):
        return "server"  # an error event inside a 200 stream: the server failed mid-answer
    return "other"


def _transport_error(exc: BaseException) -> aiohttp.ClientError | None:
    """The aiohttp error under the SDK's and httpx2's wrappers (or raised as is), when the transport failed.

    The transport maps every aiohttp connection error to `httpx2.ConnectTimeout` (a refused
    connection included), so the kind is read from aiohttp's own exception instead.
    """
    cause: BaseException | None = exc
    for _ in range(4):  # SDK error <- httpx2 error <- aiohttp error
        if cause is None or isinstance(cause, aiohttp.ClientError):
            return cause
        cause = cause.__cause__
    return None


def _status_and_headers(exc: BaseException) -> tuple[int | None, Mapping[str, str] | None]:
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code, exc.response.headers
    return None, None


def describe(exc: BaseException, timeout_s: float) -> str:
    """A short human message for a failed call, with the status code when there is one."""
    if isinstance(exc, openai.APIStatusError):
        detail = exc.message
        body = exc.body
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            detail = body["message"]
        return f"HTTP {exc.status_code}: {detail}"[:300]
    if classify(exc) == "timeout":
        return f"timed out after {timeout_s:g} s"
    if isinstance(exc, json.JSONDecodeError):
        return f"malformed response: invalid JSON ({exc.msg})"
    text = str(exc) or type(exc).__name__
    if classify(exc) == "bad_response":
        return f"malformed response: {text}"[:300]
    return f"{type(exc).__name__}: {text}"[:300]


class OpenAIChatProvider:
    """A Provider for one `kind: openai` model.

    Args:
        spec: The model as declared in turnout.yaml.
        api_key: The key read from `spec.api_key_env` by the caller; None for keyless servers.
        sleep: Awaited between retries (tests inject a recorder).
        rng: Source of backoff jitter.
        limits: The model's limits, shared by all its runs in this event loop; by default this
            provider's own adaptive concurrency, with no rpm/tpm and no shared pauses.
        cost: The model's prices; by default `CostModel.for_spec(spec)`.
    """

    def __init__(
        self,
        spec: ModelSpec,
        *,
        api_key: str | None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        limits: ModelLimits | None = None,
        cost: CostModel | None = None,
    ) -> None:
        self._spec = spec
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._limits = limits or ModelLimits(concurrency=AdaptiveConcurrency(spec.max_concurrency))
        self._cost = cost or CostModel.for_spec(spec)
        # One connection per allowed request, so no request waits in the pool on its own timeout.
        http_client = openai.DefaultAioHttpClient(
            limits=httpx2.Limits(
                max_connections=spec.max_concurrency, max_keepalive_connections=spec.max_concurrency
            ),
            timeout=httpx2.Timeout(spec.timeout_s),
        )
        self._client = openai.AsyncOpenAI(
            base_url=spec.base_url,
            api_key=api_key or "unused",
            max_retries=0,
            timeout=spec.timeout_s,
            http_client=http_client,
        )
        self._kwargs, self._extra_body = self._split_params(spec.params)

    def _split_params(self, params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Send parameters the SDK knows as arguments and server-specific ones (top_k...) in the body."""
        known = set(inspect.signature(self._client.chat.completions.create).parameters)
        kwargs = {k: v for k, v in params.items() if k in known and k not in _OWN_KWARGS}
        extra = {k: v for k, v in params.items() if k not in known or k == "extra_body"}
        extra.update(extra.pop("extra_body", None) or {})
        return kwargs, extra

    @property
    def limits(self) -> ModelLimits:
        """The limits every attempt passes through."""
        return self._limits

    async def complete(self, request: Request) -> Completion:
        """Call the model, retrying retryable failures; never raises for a per-case failure.

        Each attempt waits for the model's limits (outside the per-request timeout) and reports
        its outcome to them: a 429 cuts the concurrency and may pause every sender.

        Args:
            request: The case's messages.

        Returns:
            The answer with tokens, timings and cost, or the final error with the attempt count.
        """
        estimate = 0
        if self._limits.limiter is not None:
            estimate = sum(estimate_request_tokens(request, self._cost.output_tokens_estimate))
        attempts = 0
        failures: list[ErrorKind] = []
        while True:
            attempts += 1
            ticket = await self._limits.enter(estimate)
            try:
                answer = await self._attempt(request)
            except asyncio.CancelledError:
                self._limits.abandon(ticket)
                raise
            except Exception as exc:  # noqa: BLE001 - every failure becomes data
                kind = classify(exc)
                status, headers = _status_and_headers(exc)
                paused = await self._limits.failed(ticket, kind=kind, status=status, headers=headers)
                if kind not in RETRYABLE or attempts > self._spec.max_retries:
                    return Completion(
                        case_id=request.case_id,
                        repetition=request.repetition,
                        error=describe(exc, self._spec.timeout_s),
                        error_kind=kind,
                        attempts=attempts,
                        retried=tuple(failures),
                    )
                failures.append(kind)
                if paused is None:  # else every sender, this one included, waits in `enter`
                    await self._sleep(self._delay(exc, retry=attempts))
                continue
            completion = replace(self._completion(request, answer, attempts), retried=tuple(failures))
            used = (completion.input_tokens or 0) + (completion.output_tokens or 0)
            await self._limits.succeeded(ticket, tokens=used, headers=answer.headers)
            return completion

    def _delay(self, exc: Exception, *, retry: int) -> float:
        """Full-jitter exponential backoff, or the server's Retry-After on 429/503."""
        if isinstance(exc, openai.APIStatusError) and exc.status_code in (429, 503):
            asked = retry_after_s(exc.response.headers)
            if asked is not None:
                return min(asked, RETRY_AFTER_CAP_S)
        return self._rng.uniform(0.0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (retry - 1)))

    def _completion(self, request: Request, answer: _Answer, attempts: int) -> Completion:
        estimated = answer.input_tokens is None or answer.output_tokens is None
        input_tokens = answer.input_tokens
        output_tokens = answer.output_tokens
        if input_tokens is None:
            input_tokens = estimate_tokens("".join(m.get("content", "") for m in request.messages))
        if output_tokens is None:
            output_tokens = estimate_tokens(answer.output)
        return Completion(
            case_id=request.case_id,
            repetition=request.repetition,
            output=answer.output,
            attempts=attempts,
            latency_ms=answer.latency_ms,
            ttft_ms=answer.ttft_ms,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            tokens_estimated=estimated,
            finish_reason=answer.finish_reason,
            fingerprint=answer.fingerprint,
            cost_usd=self._cost.token_cost(input_tokens, output_tokens),
            served_model=answer.served_model,
        )

    async def _attempt(self, request: Request) -> _Answer:
        """One call under the per-request deadline (the SDK's timeout is per read, not per answer)."""
        messages = cast("list[ChatCompletionMessageParam]", request.messages)
        async with asyncio.timeout(self._spec.timeout_s):
            if self._spec.stream:
                return await self._streamed(messages)
            return await self._whole(messages)

    async def _create(self, messages: list[ChatCompletionMessageParam]) -> tuple[Any, Mapping[str, str]]:
        """Send a non-streaming request; returns the parsed body and the response headers."""
        raw = await self._client.chat.completions.with_raw_response.create(
            model=self._spec.model, messages=messages, extra_body=self._extra_body or None, **self._kwargs
        )
        return raw.parse(), raw.headers

    async def _whole(self, messages: list[ChatCompletionMessageParam]) -> _Answer:
        started = time.perf_counter()
        response, headers = await self._create(messages)
        choices = getattr(response, "choices", None)
        if not isinstance(response, ChatCompletion) or not isinstance(choices, list) or not choices:
            raise BadResponse("no choices in the completion")
        content = getattr(getattr(choices[0], "message", None), "content", None)
        if content is not None and not isinstance(content, str):
            raise BadResponse("message content is not text")
        answer = _Answer(output=content or "", latency_ms=(time.perf_counter() - started) * 1000, headers=headers)
        answer.finish_reason = getattr(choices[0], "finish_reason", None)
        answer.fingerprint = getattr(response, "system_fingerprint", None)
        answer.served_model = getattr(response, "model", None)
        answer.input_tokens, answer.output_tokens = _usage(getattr(response, "usage", None))
        return answer

    async def _streamed(self, messages: list[ChatCompletionMessageParam]) -> _Answer:
        """A streamed answer, read as plain JSON chunks (`sse.iter_payloads`) rather than SDK objects.

        The request goes through the client's generic `post` with the body as built here: the
        typed `chat.completions.create` first walks every message through the SDK's type-driven
        transform, about a third of the CPU of its whole request path at concurrency 64, which
        changes nothing in a body of plain JSON values.
        """
        started = time.perf_counter()
        body = {**self._kwargs, **self._extra_body, "model": self._spec.model, "messages": messages,
                "stream": True, "stream_options": {"include_usage": True}}
        response = await self._client.post("/chat/completions", cast_to=httpx2.Response, body=body, stream=True)
        try:
            answer, parts = _Answer(headers=response.headers), list[str]()
            async with aclosing(iter_payloads(response)) as payloads:
                async for chunk in payloads:
                    if not isinstance(chunk, dict) or not isinstance(choices := chunk.get("choices"), list):
                        raise BadResponse("a stream chunk is not a chat.completion.chunk")
                    answer.fingerprint = answer.fingerprint or chunk.get("system_fingerprint")
                    answer.served_model = answer.served_model or chunk.get("model")
                    if chunk.get("usage") is not None:
                        answer.input_tokens, answer.output_tokens = _stream_usage(chunk["usage"])
                    for choice in choices[:1]:
                        if not isinstance(choice, dict):
                            continue  # the SDK leaves it as is: no delta, no finish_reason
                        delta = choice.get("delta")
                        text = delta.get("content") if isinstance(delta, dict) else None
                        if text and isinstance(text, str):
                            if answer.ttft_ms is None:
                                answer.ttft_ms = (time.perf_counter() - started) * 1000
                            parts.append(text)
                        answer.finish_reason = choice.get("finish_reason") or answer.finish_reason
        finally:
            await response.aclose()
        if answer.finish_reason is None:
            raise TruncatedStream("the stream ended without a finish_reason (answer cut short)")
        answer.output, answer.latency_ms = "".join(parts), (time.perf_counter() - started) * 1000
        return answer

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()
