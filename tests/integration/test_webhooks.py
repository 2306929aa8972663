"""Signed webhooks against a real HTTP receiver on loopback: a room's life, in order and verified,
across a node restart; a club's own endpoints through the API; endpoints that fail or hang."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from test_clubs_events import Person, local, schedule
from test_metrics import scrape

from server import operator
from support import Member, serving, wait_until

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Receiver:
    """A real HTTP endpoint that keeps every POST (headers, body) and answers `status` after `delay_s`."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.status = 204
        self.delay_s = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.posts.append((dict(self.headers.items()), body))
                time.sleep(receiver.delay_s)
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks"

    @contextlib.contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()

    def events(self, secret: str, room_id: str | None = None) -> list[dict[str, Any]]:
        """Every event received (about `room_id` only, if given), each signature checked as docs/webhooks.md
        tells a receiver to, and each id once (a retry of one the receiver already had is a
        duplicate, not a new event)."""
        seen: set[str] = set()
        events = []
        for headers, body in list(self.posts):
            event = Webhook(secret).verify(body, headers)  # raises on a bad signature or a stale timestamp
            if headers["webhook-id"] not in seen:
                assert event["id"] == headers["webhook-id"]
                seen.add(headers["webhook-id"])
                if room_id is None or event.get("room", {}).get("id") == room_id:
                    events.append(event)
        return events

    def types(self, secret: str, room_id: str | None = None) -> list[str]:
        return [event["type"] for event in self.events(secret, room_id)]


async def test_a_rooms_life_arrives_signed_in_order_and_survives_a_node_restart(own_redis, tmp_path) -> None:
    """On a Redis of its own: the operator's endpoint hears of every room, and other tests leave rooms
    whose timers still end them."""
    with Receiver().running() as receiver:
        env = {"DROPIN_WEBHOOK_URLS": receiver.url, "DROPIN_WEBHOOK_SECRET": SECRET,
               "DROPIN_AUDIENCE_BATCH_S": "4", "DROPIN_RECONNECT_GRACE_S": "60", "DROPIN_HOST_GRACE_S": "60",
               "DROPIN_SECRET": secrets.token_hex(32)}  # the nodes share it
        with serving(own_redis.url, tmp_path / "first", **env) as node:
            host_token = node.identity("Host")
            room_id = node.create_room(host_token, title="Burning questions")
            host = await Member.enter(node.ws_url, room_id, host_token)
            ada, bo, cy = [
                await Member.enter(node.ws_url, room_id, node.identity(name)) for name in ("Ada", "Bo", "Cy")
            ]
            first = ["room.started", "member.joined", "listeners.joined"]
            await wait_until(  # the three joins fall within the 4 s batch even on a busy machine
                lambda: _async(receiver.types(SECRET, room_id) == first), timeout=15,
                what="the room's start, its host and its first listeners (one POST for the three)",
            )
            receiver.status = 503  # the receiver goes down
            await ada.act("raise_hand")
            await bo.client.request("leave")
            await wait_until(lambda: _async(len(receiver.posts) >= 5), what="a failed try, and its retry")
        # the node has stopped with two events undelivered; a new one takes over the queue
        receiver.status = 200
        with serving(own_redis.url, tmp_path / "second", **env) as node:
            host = await Member.enter(node.ws_url, room_id, host_token)  # back within the reconnect grace
            await host.act("end_room")
            await wait_until(lambda: _async(receiver.types(SECRET, room_id)[-1:] == ["roundup.ready"]), timeout=20,
                             what="the room's end and its round-up")

    events = receiver.events(SECRET, room_id)
    assert [event["type"] for event in events] == [
        "room.started", "member.joined", "listeners.joined", "hand.raised", "listeners.left", "room.ended",
        "roundup.ready",
    ]
    started, joined, listeners, hand, left, ended, roundup = events
    assert all(event["room"] == {"id": room_id, "title": "Burning questions"} for event in events)
    assert started["data"]["host"] == {"id": host.id, "name": "Host"}
    assert joined["data"]["members"] == [{"id": host.id, "name": "Host", "role": "host"}]
    assert [member["name"] for member in listeners["data"]["members"]] == ["Ada", "Bo", "Cy"]
    assert hand["data"]["member"] == {"id": ada.id, "name": "Ada"}
    assert left["data"]["members"] == [{"id": bo.id, "name": "Bo", "role": "listener"}]
    assert ended["data"]["by"] == "host"
    assert roundup["data"]["markdown"] == f"/api/rooms/{room_id}/roundup.md"
    assert roundup["data"]["json"] == f"/api/rooms/{room_id}/roundup"
    times = [event["at"] for event in events]
    assert times == sorted(times)
    await cy.client.close()


async def test_a_club_hosts_endpoint_gets_its_clubs_events_only(redis_server, tmp_path) -> None:
    with Receiver().running() as receiver, serving(
        redis_server.url, tmp_path, DROPIN_WEBHOOK_PRIVATE_OK="1"
    ) as server:
        ada, bo = Person(server, "Ada"), Person(server, "Bo")
        club = ada.post("/api/clubs", {"name": "L&D Thursdays"}).json()
        hooks = f"/api/clubs/{club['id']}/webhooks"
        assert bo.post(hooks, {"url": receiver.url}).status_code == 403  # not a host
        for url, message in [("ftp://example.org/x", "http:// or https://"), ("https://nope.invalid/x", "resolve")]:
            refused = ada.post(hooks, {"url": url})
            assert refused.status_code == 422 and message in refused.json()["error"]["message"]
        created = ada.post(hooks, {"url": receiver.url})
        assert created.status_code == 201, created.text
        webhook = created.json()
        assert webhook["secret"].startswith("whsec_") and webhook["queued"] == 0
        [listed] = ada.get(hooks).json()["webhooks"]
        assert listed["id"] == webhook["id"] and "secret" not in listed

        elsewhere = server.create_room(ada.token, title="Not the club's")  # no club: not for this endpoint
        series = schedule(ada, club_id=club["id"], start=local(timedelta(minutes=5)), title="Club hour")
        day = series["next"]["date"]
        assert bo.post(f"/api/events/{series['id']}/occurrences/{day}/rsvp").status_code == 200
        opened = ada.post(f"/api/events/{series['id']}/occurrences/{day}/open").json()
        await wait_until(lambda: _async(receiver.types(webhook["secret"]) == [
            "occurrence.rsvp", "room.started", "occurrence.opened",
        ]), what="the RSVP, and the club room's opening")
        rsvp, started, occurrence = receiver.events(webhook["secret"])
        assert rsvp["event"]["id"] == series["id"] and rsvp["event"]["occurrence"] == day
        assert rsvp["data"] == {"member": {"id": bo.id, "name": "Bo"}, "interested": True}
        assert started["room"] == occurrence["room"] == {
            "id": opened["room_id"], "title": "Club hour", "club_id": club["id"], "event_id": series["id"],
            "occurrence": day,
        }
        assert elsewhere not in json.dumps(receiver.events(webhook["secret"]))

        for _ in range(4):
            assert ada.post(hooks, {"url": receiver.url}).status_code == 201
        too_many = ada.post(hooks, {"url": receiver.url})
        assert too_many.status_code == 409 and too_many.json()["error"]["code"] == "too_many_webhooks"
        removed = ada.delete(f"{hooks}/{webhook['id']}")
        assert removed.status_code == 200 and removed.json()["id"] == webhook["id"]
        gone = ada.delete(f"{hooks}/{webhook['id']}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "webhook_not_found"
        assert len(ada.get(hooks).json()["webhooks"]) == 4


async def test_club_endpoints_must_be_public_unless_the_operator_allows_private_ones(server) -> None:
    ada = Person(server, "Ada")
    club = ada.post("/api/clubs", {"name": "L&D Thursdays"}).json()
    for url in ("http://127.0.0.1:9/hooks", "http://10.1.2.3/hooks", "http://localhost/hooks"):
        refused = ada.post(f"/api/clubs/{club['id']}/webhooks", {"url": url})
        assert refused.status_code == 422 and "private address" in refused.json()["error"]["message"]
    assert ada.get(f"/api/clubs/{club['id']}/webhooks").json()["webhooks"] == []


async def test_a_failing_or_hanging_endpoint_slows_no_room_and_its_losses_are_counted(
    own_redis, tmp_path, monkeypatch, capsys
) -> None:
    with Receiver().running() as receiver, serving(
        own_redis.url, tmp_path, DROPIN_WEBHOOK_URLS=receiver.url, DROPIN_WEBHOOK_SECRET=SECRET,
        DROPIN_WEBHOOK_ATTEMPTS="2", DROPIN_WEBHOOK_TIMEOUT_S="1", DROPIN_WEBHOOK_QUEUE_MAX="3",
    ) as server:
        receiver.status = 500
        host_token = server.identity("Host")
        room_id = server.create_room(host_token)
        host = await Member.enter(server.ws_url, room_id, host_token)

        async def given_up() -> bool:
            return scrape(server.base_url).get(("dropin_webhook_deliveries_total", (("outcome", "failed"),)), 0) >= 1

        await wait_until(given_up, timeout=15, what="room.started tried twice, then given up")
        receiver.delay_s = 5  # and now it hangs: each try waits out the timeout
        crowd = [await Member.enter(server.ws_url, room_id, server.identity(f"L{i}")) for i in range(6)]
        for member in crowd:
            await member.act("raise_hand")  # answered while the endpoint hangs
        figures = scrape(server.base_url)
        [(endpoint,)] = [labels for (name, labels) in figures if name == "dropin_webhook_queued"]
        assert figures[("dropin_webhook_queued", (endpoint,))] <= 3
        await wait_until(lambda: _async(scrape(server.base_url)[("dropin_webhook_dropped_total", (endpoint,))] > 0),
                         what="events past the queue's 3 dropped and counted")
        assert figures[("dropin_webhook_deliveries_total", (("outcome", "retried"),))] >= 1
        log = server.log
        assert "given up after 2 attempts: HTTP 500" in log and SECRET not in log

        monkeypatch.setenv("REDIS_URL", server.redis_url)  # the operator's view from a shell
        assert await asyncio.to_thread(operator.main, ["webhooks"]) == 0
        header, row = capsys.readouterr().out.splitlines()
        assert header.split()[:4] == ["ID", "URL", "CLUB", "QUEUED"]
        endpoint_id, url, club, queued, delivered, failed, dropped, *last_error = row.split()
        assert (url, club, delivered) == (receiver.url, "(operator)", "0")
        assert int(failed) >= 1 and int(dropped) > 0 and int(queued) <= 3
        assert await asyncio.to_thread(operator.main, ["webhooks", "failures", endpoint_id, "--json"]) == 0
        failures = json.loads(capsys.readouterr().out)
        assert failures[-1]["type"] == "room.started" and failures[-1]["error"] == "HTTP 500"
        assert await asyncio.to_thread(operator.main, ["webhooks", "failures", "nope"]) == 2
        assert capsys.readouterr().err == "dropin: no webhook endpoint nope\n"
        for member in [host, *crowd]:
            await member.client.close()


async def test_a_club_can_read_its_failed_deliveries(redis_server, tmp_path) -> None:
    with Receiver().running() as receiver, serving(
        redis_server.url, tmp_path, DROPIN_WEBHOOK_PRIVATE_OK="1", DROPIN_WEBHOOK_ATTEMPTS="1",
    ) as server:
        receiver.status = 410
        ada = Person(server, "Ada")
        club = ada.post("/api/clubs", {"name": "L&D Thursdays"}).json()
        webhook = ada.post(f"/api/clubs/{club['id']}/webhooks", {"url": receiver.url}).json()
        series = schedule(ada, club_id=club["id"], start=local(timedelta(days=1)))
        assert ada.post(f"/api/events/{series['id']}/occurrences/{series['next']['date']}/rsvp").status_code == 200
        path = f"/api/clubs/{club['id']}/webhooks/{webhook['id']}"

        async def failed() -> bool:
            return bool(ada.get(f"{path}/failures").json()["failures"])

        await wait_until(failed, what="the RSVP's delivery given up")
        [failure] = ada.get(f"{path}/failures").json()["failures"]
        assert failure["type"] == "occurrence.rsvp" and failure["error"] == "HTTP 410" and failure["attempts"] == 1
        assert failure["body"]["data"]["member"]["id"] == ada.id and failure["id"].startswith("msg_")
        [listed] = ada.get(f"/api/clubs/{club['id']}/webhooks").json()["webhooks"]
        assert listed["failed"] == 1 and listed["last_error"] == "HTTP 410" and listed["queued"] == 0
        assert Person(server, "Bo").get(f"{path}/failures").status_code == 403


async def _async(value: bool) -> bool:
    return value
