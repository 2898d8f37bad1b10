"""Replaying cases: the OpenAI provider against a real HTTP peer, and the batching worker pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from email.utils import formatdate
from typing import Any

import aiohttp
import httpx2
import openai
import pytest

from evals.models import ModelSpec, Pricing
from evals.providers.openai_chat import OpenAIChatProvider, classify, estimate_tokens, retry_after_s
from evals.replay import replay
from evals.results import Completion, Request
from tests.peers.openai_peer import OpenAIPeer
from tests.peers.tcp_proxy import TcpProxy


class Sleeps(list[float]):
    """An injected `sleep` that records the delays asked for and returns at once."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)


@pytest.fixture
def peer() -> Iterator[OpenAIPeer]:
    with OpenAIPeer(token_delay_s=0.002) as running:
        yield running


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make(peer: OpenAIPeer, sleeps: Sleeps) -> AsyncIterator[Any]:
    providers: list[OpenAIChatProvider] = []

    def factory(**spec: Any) -> OpenAIChatProvider:
        fields: dict[str, Any] = {"name": "peer", "base_url": peer.base_url, "model": "peer-model", **spec}
        provider = OpenAIChatProvider(ModelSpec(**fields), api_key=None, sleep=sleeps)
        providers.append(provider)
        return provider

    yield factory
    for provider in providers:
        await provider.aclose()


def ask(text: str, case_id: str = "c1") -> Request:
    return Request(case_id=case_id, repetition=0, messages=[{"role": "user", "content": text}])


# -- what a successful call stores --


@pytest.mark.parametrize("stream", [True, False])
async def test_answer_fields_are_captured(make: Any, peer: OpenAIPeer, stream: bool) -> None:
    pricing = Pricing(input_per_mtok=1_000_000.0, output_per_mtok=2_000_000.0)  # $1 / $2 per token
    provider = make(stream=stream, pricing=pricing, params={"temperature": 0, "seed": 3, "top_k": 5})

    got = await provider.complete(ask("Capital of France?\nANSWER: Paris, of course"))

    assert got.ok and got.output == "Paris, of course"
    assert (got.input_tokens, got.output_tokens, got.tokens_estimated) == (10, 3, False)  # 7 words + 3 per message
    assert got.cost_usd == pytest.approx(10 * 1 + 3 * 2)
    assert got.finish_reason == "stop" and got.fingerprint == "fp_peer_0001"
    assert got.served_model == "peer-model" and got.attempts == 1
    assert got.latency_ms is not None and got.latency_ms > 0
    if stream:
        assert got.ttft_ms is not None and 0 < got.ttft_ms <= got.latency_ms
    else:
        assert got.ttft_ms is None
    sent = peer.requests[0]
    assert (sent["temperature"], sent["seed"], sent["top_k"], sent.get("stream", False)) == (0, 3, 5, stream)
    if stream:
        assert sent["stream_options"] == {"include_usage": True}


async def test_length_limit_is_the_finish_reason(make: Any) -> None:
    got = await make(params={"max_tokens": 2}).complete(ask("one two three"))

    assert (got.output, got.finish_reason, got.output_tokens) == ("echo: one ", "length", 2)


async def test_stream_without_usage_estimates_tokens(make: Any, peer: OpenAIPeer) -> None:
    peer.send_usage_when_streaming = False
    text = "ANSWER: " + "word " * 10

    got = await make(stream=True).complete(ask(text))

    assert got.ok and got.tokens_estimated
    assert got.input_tokens == estimate_tokens(text)
    assert got.output_tokens == estimate_tokens(got.output or "") > 1


# -- retries --


async def test_429_waits_as_long_as_retry_after_says(make: Any, peer: OpenAIPeer, sleeps: Sleeps) -> None:
    peer.retry_after = "2"
    peer.fail_next(1, "429")

    got = await make(max_retries=3).complete(ask("hi"))

    assert got.ok and got.attempts == 2
    assert sleeps == [2.0]


async def test_503_retry_after_ms_wins_over_seconds(make: Any, peer: OpenAIPeer, sleeps: Sleeps) -> None:
    peer.retry_after, peer.retry_after_ms = "9", "250"
    peer.fail_next(1, "503")

    got = await make().complete(ask("hi"))

    assert got.ok and sleeps == [0.25]


def test_retry_after_as_an_http_date() -> None:
    now = 1_700_000_000.0

    assert retry_after_s({"retry-after": formatdate(now + 30, usegmt=True)}, now=now) == pytest.approx(30)
    assert retry_after_s({"retry-after": "soon"}, now=now) is None


async def test_500_is_retried_with_jittered_backoff(make: Any, peer: OpenAIPeer, sleeps: Sleeps) -> None:
    peer.fail_next(2, "500")

    got = await make(max_retries=3).complete(ask("hi"))

    assert got.ok and got.attempts == 3 and len(peer.requests) == 3
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


async def test_exhausted_retries_store_the_error(make: Any, peer: OpenAIPeer, sleeps: Sleeps) -> None:
    got = await make(max_retries=2).complete(ask("hi\nFAULT: 500"))

    assert not got.ok and got.output is None
    assert (got.error_kind, got.attempts, len(peer.requests)) == ("server", 3, 3)
    assert got.error is not None and "500" in got.error


@pytest.mark.parametrize(("fault", "kind"), [("400", "bad_request"), ("malformed", "bad_response")])
@pytest.mark.parametrize("stream", [True, False])
async def test_client_errors_and_bad_bodies_are_not_retried(
    make: Any, peer: OpenAIPeer, sleeps: Sleeps, fault: str, kind: str, stream: bool
) -> None:
    got = await make(max_retries=3, stream=stream).complete(ask(f"hi\nFAULT: {fault}"))

    assert (got.error_kind, got.attempts, len(peer.requests), sleeps) == (kind, 1, 1, [])
    if fault == "400":
        assert got.error is not None and got.error.startswith("HTTP 400")


async def test_a_stream_cut_short_is_retried(make: Any, peer: OpenAIPeer, sleeps: Sleeps) -> None:
    peer.fail_next(1, "truncate")  # [DONE] without a finish_reason, as llama.cpp's server does

    got = await make(stream=True).complete(ask("ANSWER: the whole answer"))

    assert got.ok and got.output == "the whole answer" and got.attempts == 2


async def test_a_stream_always_cut_short_is_an_error_not_an_answer(make: Any) -> None:
    got = await make(stream=True, max_retries=1).complete(ask("ANSWER: a b c\nFAULT: truncate"))

    assert (got.output, got.error_kind, got.attempts) == (None, "server", 2)


@pytest.mark.parametrize(("fault", "stream"), [("hang", True), ("hang", False), ("stall", True)])
async def test_a_hang_is_cut_at_the_timeout(make: Any, peer: OpenAIPeer, fault: str, stream: bool) -> None:
    got = await make(timeout_s=0.5, max_retries=1, stream=stream).complete(ask(f"hi\nFAULT: {fault}"))

    # only the client's own timer gives "timeout": had it not fired, the peer would have ended its 30 s
    # hang with a 504 (or a stream without a finish), both "server"; each attempt was one request
    assert (got.error_kind, got.attempts, len(peer.requests)) == ("timeout", 2, 2)


async def test_connection_refused_is_retried_then_stored(sleeps: Sleeps) -> None:
    spec = ModelSpec(name="down", base_url="http://127.0.0.1:9/v1", model="m", max_retries=2)
    provider = OpenAIChatProvider(spec, api_key=None, sleep=sleeps)

    got = await provider.complete(ask("hi"))
    await provider.aclose()

    assert (got.error_kind, got.attempts, len(sleeps)) == ("connection", 3, 2)


@pytest.mark.parametrize("reply", [b"", b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                                        b"transfer-encoding: chunked\r\n\r\n7\r\ndata: {\r\n"],
                         ids=["closed-before-reply", "closed-mid-stream"])
async def test_a_dropped_connection_is_a_connection_error(sleeps: Sleeps, reply: bytes) -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    spec = ModelSpec(name="drops", base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=1)
    provider = OpenAIChatProvider(spec, api_key=None, sleep=sleeps)
    try:
        got = await provider.complete(ask("hi"))
    finally:
        await provider.aclose()
        server.close()
        await server.wait_closed()

    assert (got.error_kind, got.attempts, got.retried) == ("connection", 2, ("connection",))


def test_transport_errors_are_classified_by_aiohttps_own_exception() -> None:
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions")

    def wrapped(cause: BaseException) -> openai.APITimeoutError:
        # as the SDK raises it: its error <- the transport's httpx2 error <- aiohttp's
        try:
            try:
                raise httpx2.ConnectTimeout(str(cause)) from cause
            except httpx2.ConnectTimeout as mapped:
                raise openai.APITimeoutError(request=request) from mapped
        except openai.APITimeoutError as sdk_error:
            return sdk_error

    assert classify(wrapped(aiohttp.ServerDisconnectedError())) == "connection"
    assert classify(wrapped(aiohttp.ServerTimeoutError())) == "timeout"
    assert classify(aiohttp.ClientPayloadError("cut")) == "connection"  # raised as is, unmapped
    assert classify(aiohttp.SocketTimeoutError()) == "timeout"
    assert classify(openai.APITimeoutError(request=request)) == "timeout"  # no aiohttp cause


# -- replay through the provider --


async def test_replay_respects_the_concurrency_bound(make: Any, peer: OpenAIPeer) -> None:
    peer.latency_s = 0.02
    provider = make(max_concurrency=4)
    requests = (ask(f"q{i}", f"c{i}") for i in range(40))

    batches = [b async for b in replay(requests, provider=provider, max_concurrency=4, batch_size=10)]

    assert peer.max_in_flight == 4
    assert sum(len(b) for b in batches) == 40


@pytest.mark.parametrize("stream", [True, False])
async def test_connections_are_reused_across_answers(make: Any, peer: OpenAIPeer, stream: bool) -> None:
    # Given the peer behind a proxy that counts the connections it accepts
    with TcpProxy(int(peer.base_url.rsplit(":", 1)[1].split("/")[0])) as proxy:
        provider = make(base_url=f"http://127.0.0.1:{proxy.port}/v1", max_concurrency=4, stream=stream)
        requests = [ask(f"ANSWER: a{i}", f"c{i}") for i in range(40)]

        # When 40 answers are replayed, at most 4 at once
        got = [c async for b in replay(requests, provider=provider, max_concurrency=4) for c in b]

    # Then every answer is whole, and they came over no more connections than requests in flight
    assert sorted(c.output or "" for c in got) == sorted(f"a{i}" for i in range(40))
    assert 1 <= proxy.accepted <= 4


async def test_replay_survives_random_faults(make: Any) -> None:
    with OpenAIPeer(fault_rate=0.2, fault_kinds=["429", "500", "503"], retry_after="0", seed=1) as flaky:
        provider = make(base_url=flaky.base_url, max_retries=10, max_concurrency=16)
        requests = [ask(f"ANSWER: a{i}", f"c{i}") for i in range(200)]

        got = [c async for b in replay(requests, provider=provider, max_concurrency=16) for c in b]

    assert sorted(c.case_id for c in got) == sorted(r.case_id for r in requests)
    assert all(c.ok and c.output == f"a{c.case_id[1:]}" for c in got)
    assert any(c.attempts > 1 for c in got)


# -- the worker pool itself, with a scripted provider --


class Scripted:
    """A provider that answers after `delay_s` and records what it was doing."""

    def __init__(self, delay_s: float = 0.0, fail_on: str | None = None) -> None:
        self.delay_s, self.fail_on = delay_s, fail_on
        self.in_flight = self.max_in_flight = 0
        self.cancelled = 0

    async def complete(self, request: Request) -> Completion:
        if request.case_id == self.fail_on:
            raise RuntimeError("provider bug")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
        return Completion(case_id=request.case_id, output="ok")

    async def aclose(self) -> None:
        return None


async def test_every_request_yields_once_in_bounded_batches() -> None:
    provider = Scripted()
    requests = [ask("x", f"c{i}") for i in range(203)]

    batches = [b async for b in replay(requests, provider=provider, max_concurrency=8, batch_size=16)]

    ids = [c.case_id for b in batches for c in b]
    assert sorted(ids) == sorted(r.case_id for r in requests) and len(set(ids)) == 203
    assert all(0 < len(b) <= 16 for b in batches)
    assert provider.max_in_flight == 8


async def test_slow_completions_are_flushed_on_the_interval() -> None:
    provider = Scripted(delay_s=0.03)

    batches = [
        b async for b in replay([ask("x", f"c{i}") for i in range(6)], provider=provider,
                                max_concurrency=1, batch_size=100, flush_interval_s=0.05)
    ]

    assert len(batches) > 1 and sum(len(b) for b in batches) == 6


async def test_requests_are_pulled_lazily() -> None:
    pulled: list[int] = []

    def requests() -> Iterator[Request]:
        for i in range(100_000):
            pulled.append(i)
            yield ask("x", f"c{i}")

    async with aclosing(replay(requests(), provider=Scripted(0.01), max_concurrency=4, batch_size=4)) as batches:
        async for _ in batches:
            break

    assert len(pulled) <= 12


async def test_closing_early_cancels_calls_in_flight() -> None:
    provider = Scripted(delay_s=0.05)
    requests = [ask("x", f"c{i}") for i in range(20)]

    async with aclosing(replay(requests, provider=provider, max_concurrency=4, batch_size=4)) as batches:
        first = await anext(batches)
        provider.delay_s = 10.0  # the calls started from now on would take 10 s
        await asyncio.sleep(0.06)
    assert len(first) == 4
    assert provider.in_flight == 0 and provider.cancelled > 0
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


async def test_a_provider_bug_is_raised_not_swallowed() -> None:
    with pytest.raises(RuntimeError, match="provider bug"):
        async for _ in replay([ask("x", "c0"), ask("x", "boom")], provider=Scripted(fail_on="boom"),
                              max_concurrency=2):
            pass
