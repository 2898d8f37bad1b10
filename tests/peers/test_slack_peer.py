"""The Slack peer answers slack_sdk as Slack does: what the alert delivery's tests rely on."""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError

from tests.peers.slack_peer import SlackPeer


@pytest.fixture()
def peer():
    with SlackPeer() as running:
        yield running


def client(peer: SlackPeer, token: str | None = None) -> WebClient:
    return WebClient(token=token or peer.token, base_url=peer.base_url, retry_handlers=[])


def test_post_is_kept_with_its_metadata_and_found_in_history(peer):
    metadata = {"event_type": "turnout_alert", "event_payload": {"key": "k1"}}
    posted = client(peer).chat_postMessage(channel="#llm-ops", text="hello", metadata=metadata)
    assert posted["channel"] == "C0LLMOPS"
    history = client(peer).conversations_history(channel="C0LLMOPS", include_all_metadata=True, oldest="0")
    assert [m["metadata"] for m in history["messages"]] == [metadata]
    plain = client(peer).conversations_history(channel="C0LLMOPS")
    assert "metadata" not in plain["messages"][0]
    later = client(peer).conversations_history(channel="C0LLMOPS", oldest=posted["ts"])
    assert later["messages"] == []


def test_thread_replies_and_update(peer):
    parent = client(peer).chat_postMessage(channel="llm-ops", text="first")
    client(peer).chat_postMessage(channel="C0LLMOPS", text="second", thread_ts=parent["ts"])
    client(peer).chat_update(channel="C0LLMOPS", ts=parent["ts"], text="first, updated")
    replies = client(peer).conversations_replies(channel="C0LLMOPS", ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["first, updated", "second"]
    assert len(peer.messages()) == 1


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"token": "xoxb-wrong"}, "invalid_auth"),
    ({"channel": "#nowhere"}, "channel_not_found"),
    ({"blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
    ({"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]}, "invalid_blocks"),
    ({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]}, "invalid_blocks"),
    ({"metadata": {"event_type": "turnout_alert"}}, "invalid_metadata_format"),
])
def test_errors_are_slack_errors(peer, kwargs, error):
    token = kwargs.pop("token", None)
    args = {"channel": "#llm-ops", "text": "t", **kwargs}
    with pytest.raises(SlackApiError) as raised:
        client(peer, token).chat_postMessage(**args)
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == error
    assert peer.messages() == []


def test_429_carries_retry_after_and_5xx_is_a_status(peer):
    peer.fail_next(1, "429")
    peer.fail_next(1, "500")
    with pytest.raises(SlackApiError) as limited:
        client(peer).chat_postMessage(channel="#llm-ops", text="t")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    assert limited.value.response["error"] == "ratelimited"
    with pytest.raises(SlackApiError) as failed:
        client(peer).chat_postMessage(channel="#llm-ops", text="t")
    assert failed.value.response.status_code == 500
    assert client(peer).chat_postMessage(channel="#llm-ops", text="t")["ok"]
    assert len(peer.messages()) == 1


def test_incoming_webhook(peer):
    assert WebhookClient(peer.webhook_url).send(text="hi").status_code == 200
    assert WebhookClient(peer.webhook_url).send(blocks=[{"type": "divider"}] * 51).body == "invalid_blocks"
    assert peer.webhook_posts == [{"text": "hi"}]
    # a URL Slack never issued is not a webhook
    wrong = WebhookClient(peer.webhook_url.replace("peersecret", "guessed")).send(text="hi")
    assert (wrong.status_code, wrong.body) == (404, "no_service")
    assert peer.webhook_posts == [{"text": "hi"}]


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_generic_webhook_checks_key_and_signature():
    with SlackPeer(webhook_secret="s3cret") as peer:
        body = b'{"key": "k1"}'
        signed = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        # a signed body with its key is accepted, as sent
        assert _post(peer.generic_url, body, {"Idempotency-Key": "k1", "X-Turnout-Signature": signed}) == 200
        assert peer.generic_posts[0][1] == body
        # a body changed after signing, a wrong key, no signature or no Idempotency-Key is refused
        changed = b'{"key": "k2"}'
        assert _post(peer.generic_url, changed, {"Idempotency-Key": "k1", "X-Turnout-Signature": signed}) == 401
        wrong = "sha256=" + hmac.new(b"other", body, hashlib.sha256).hexdigest()
        assert _post(peer.generic_url, body, {"Idempotency-Key": "k1", "X-Turnout-Signature": wrong}) == 401
        assert _post(peer.generic_url, body, {"Idempotency-Key": "k1"}) == 401
        assert _post(peer.generic_url, body, {"X-Turnout-Signature": signed}) == 400
        assert _post(peer.generic_url, b"not json", {"Idempotency-Key": "k1", "X-Turnout-Signature": signed}) == 400
        assert len(peer.generic_posts) == 1 and len(peer.rejected) == 5


def test_held_reply_is_stored_before_it_is_answered(peer):
    release = peer.hold_after_store()
    import threading

    done = []
    thread = threading.Thread(target=lambda: done.append(client(peer).chat_postMessage(channel="#llm-ops", text="t")))
    thread.start()
    assert peer.wait_held(10)
    assert len(peer.messages()) == 1 and not done
    release.set()
    thread.join(10)
    assert done and done[0]["ok"]
