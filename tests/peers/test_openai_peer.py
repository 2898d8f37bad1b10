"""The OpenAI peer speaks the protocol the official SDK expects, including errors and streaming."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx2
import openai
import pytest

from tests.peers.openai_peer import OpenAIPeer, default_answer

USER = [{"role": "user", "content": "What is 2 + 2?\nANSWER: 4"}]


@pytest.fixture
def peer() -> Iterator[OpenAIPeer]:
    with OpenAIPeer(served_model="peer-model-2024-01-01") as running:
        yield running


@pytest.fixture
async def client(peer: OpenAIPeer) -> AsyncIterator[openai.AsyncOpenAI]:
    sdk = openai.AsyncOpenAI(base_url=peer.base_url, api_key="unused", max_retries=0, timeout=2.0)
    yield sdk
    await sdk.close()


def test_default_answer_follows_the_answer_line_or_echoes() -> None:
    assert default_answer(USER) == "4"
    assert default_answer([{"role": "user", "content": "hi"}]) == "echo: hi"


async def test_whole_completion_has_openai_shape(client: openai.AsyncOpenAI, peer: OpenAIPeer) -> None:
    reply = await client.chat.completions.create(model="peer-model", messages=USER, temperature=0)

    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content == "4"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "peer-model-2024-01-01"
    assert reply.system_fingerprint == "fp_peer_0001"
    assert reply.usage is not None and reply.usage.completion_tokens == 1
    assert peer.requests[0]["temperature"] == 0


async def test_stream_sends_deltas_then_usage_chunk(client: openai.AsyncOpenAI) -> None:
    messages = [{"role": "user", "content": "ANSWER: Paris is the capital"}]
    stream = await client.chat.completions.create(
        model="peer-model", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]

    assert all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Paris is the capital"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4


async def test_stream_without_usage_like_llama_cpp(client: openai.AsyncOpenAI, peer: OpenAIPeer) -> None:
    peer.send_usage_when_streaming = False
    stream = await client.chat.completions.create(
        model="peer-model", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]

    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


async def test_max_tokens_cuts_the_answer_with_length(client: openai.AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(
        model="peer-model", messages=[{"role": "user", "content": "one two three"}], max_tokens=2
    )

    assert reply.choices[0].message.content == "echo: one "
    assert reply.choices[0].finish_reason == "length"


async def test_models_lists_the_served_models(client: openai.AsyncOpenAI) -> None:
    page = await client.models.list()

    assert [m.id for m in page.data] == ["peer-model"]


async def test_429_has_retry_after_and_openai_error_body(client: openai.AsyncOpenAI, peer: OpenAIPeer) -> None:
    peer.retry_after = "7"
    peer.fail_next(1, "429")

    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="peer-model", messages=USER)

    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.code == "rate_limit_exceeded"
    assert (await client.chat.completions.create(model="peer-model", messages=USER)).choices


@pytest.mark.parametrize(("kind", "error"), [("500", openai.InternalServerError), ("400", openai.BadRequestError)])
async def test_fault_line_in_the_prompt_fails_every_time(
    client: openai.AsyncOpenAI, kind: str, error: type[Exception]
) -> None:
    messages = [{"role": "user", "content": f"hello\nFAULT: {kind}"}]
    for _ in range(2):
        with pytest.raises(error):
            await client.chat.completions.create(model="peer-model", messages=messages)


async def test_unknown_model_is_404_model_not_found(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await client.chat.completions.create(model="gpt-9", messages=USER)

    assert caught.value.code == "model_not_found"


async def test_malformed_body_is_not_json(peer: OpenAIPeer) -> None:
    peer.fail_next(1, "malformed")
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{peer.base_url}/chat/completions", json={"model": "peer-model", "messages": USER})

    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_hang_outlasts_the_client_timeout(client: openai.AsyncOpenAI, peer: OpenAIPeer) -> None:
    peer.fail_next(1, "hang")

    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(model="peer-model", messages=USER, timeout=0.3)


async def test_seeded_fault_rate_is_reproducible() -> None:
    outcomes = []
    for _ in range(2):
        with OpenAIPeer(fault_rate=0.5, fault_kinds=["500"], seed=7) as peer:
            async with httpx2.AsyncClient() as http:
                body = {"model": "peer-model", "messages": USER}
                codes = [(await http.post(f"{peer.base_url}/chat/completions", json=body)).status_code
                         for _ in range(20)]
        outcomes.append(codes)

    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {200, 500}
