"""Webhook delivery's pure parts: what goes in one POST, how long between tries, and what a
receiver's documented check (docs/webhooks.md) refuses: forged, altered, stale and replayed POSTs."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from server.state.webhooks import Endpoint, Queued
from server.webhooks import backoff, batch_of, payload, signed

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
T0 = 1_796_000_000.0


def queued(ms_after: int, kind: str, batch: str = "", name: str = "x", seq: int = 0) -> Queued:
    body = {"type": kind, "room": {"id": "r1", "title": "Hour"}, "data": {"members": [{"id": name, "name": name}]}}
    return Queued(f"{int(T0 * 1000) + ms_after}-{seq}", kind, batch, json.dumps(body))


def endpoint() -> Endpoint:
    return Endpoint(id="e1", url="https://hooks.example.org/in", secret=SECRET, club_id="", created_at=T0,
                    queue_max=10, queued=0, delivered=0, failed=0, dropped=0, attempts=0, next_at=0, batch_end="",
                    last_error="", last_at=0)


def test_retries_back_off_doubling_up_to_five_minutes() -> None:
    assert [backoff(n) for n in range(1, 12)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_a_stage_event_goes_alone_and_listeners_wait_to_be_batched() -> None:
    hand = queued(0, "hand.raised")
    assert batch_of([hand, queued(1, "hand.raised")], "", 2.0, T0) == [hand]
    ada, bo = queued(0, "listeners.joined", "r1", "ada"), queued(300, "listeners.joined", "r1", "bo")
    assert batch_of([ada, bo], "", 2.0, T0 + 0.5) == pytest.approx(1.5)  # more may come for 1.5 s
    assert batch_of([ada, bo], "", 2.0, T0 + 2.0) == [ada, bo]
    left = queued(400, "listeners.left", "r1", "ada")
    assert batch_of([ada, bo, left], "", 2.0, T0 + 0.5) == [ada, bo]  # closed by what follows it
    other_room = queued(500, "listeners.joined", "r2", "cy")
    assert batch_of([ada, other_room], "", 2.0, T0 + 0.5) == [ada]


def test_a_batch_tried_before_is_sent_again_as_it_was() -> None:
    ada, bo, cy = (queued(i, "listeners.joined", "r1", name) for i, name in enumerate(("ada", "bo", "cy")))
    assert batch_of([ada, bo, cy], bo.id, 2.0, T0) == [ada, bo]


def test_one_post_carries_the_batchs_members_under_the_last_events_id() -> None:
    ada, bo = queued(0, "listeners.joined", "r1", "ada"), queued(5, "listeners.joined", "r1", "bo", seq=1)
    webhook_id, body = payload(endpoint(), [ada, bo])
    event = json.loads(body)
    assert webhook_id == event["id"] == f"msg_e1_{bo.id}"
    assert event["type"] == "listeners.joined" and event["at"] == "2026-11-30T00:53:20.000Z"
    assert [m["name"] for m in event["data"]["members"]] == ["ada", "bo"] and event["room"]["id"] == "r1"


class Receiver:
    """The receiver's check of docs/webhooks.md: the signature over id, timestamp and body; a
    timestamp within five minutes; an id not seen before."""

    def __init__(self, secret: str) -> None:
        self.webhook = Webhook(secret)
        self.seen: set[str] = set()

    def accept(self, body: str, headers: dict[str, str]) -> dict[str, object]:
        event = self.webhook.verify(body, headers)
        if headers["webhook-id"] in self.seen:
            raise WebhookVerificationError("replayed: this id was delivered before")
        self.seen.add(headers["webhook-id"])
        return dict(event)


def test_the_receivers_check_takes_a_real_post_and_refuses_forged_altered_stale_and_replayed_ones() -> None:
    webhook_id, body = payload(endpoint(), [queued(0, "hand.raised")])
    now = datetime.now(UTC)
    headers = signed(SECRET, webhook_id, body, now)
    receiver = Receiver(SECRET)
    assert receiver.accept(body, headers)["type"] == "hand.raised"
    with pytest.raises(WebhookVerificationError, match="replayed"):
        receiver.accept(body, headers)  # the same POST again

    fresh = Receiver(SECRET)
    forged = signed("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(), webhook_id, body, now)
    altered = body.replace("hand.raised", "room.ended")
    stale = signed(SECRET, webhook_id, body, now - timedelta(minutes=6))  # a captured POST sent later
    for bad_body, bad_headers in [(body, forged), (altered, headers), (body, stale)]:
        with pytest.raises(WebhookVerificationError):
            fresh.accept(bad_body, bad_headers)
    assert fresh.seen == set()
