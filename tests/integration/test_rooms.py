"""Rooms over REST and their lifecycle over signalling, against a real server and Redis."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from signaling import messages as m
from signaling.client import RequestFailed, SignalingClient


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_identity_and_rooms_over_rest(server) -> None:
    api = httpx.Client(base_url=server.base_url)
    reply = api.post("/api/identity", json={"name": "  Ada  "})
    assert reply.status_code == 201
    token, identity = reply.json()["token"], reply.json()["identity"]
    assert identity["name"] == "Ada"
    assert api.get("/api/me", headers=auth(token)).json() == identity

    created = api.post(
        "/api/rooms", json={"title": "Burning questions", "description": "Open agenda"}, headers=auth(token)
    )
    assert created.status_code == 201
    room = created.json()
    assert room["host"] == identity and room["status"] == "live" and room["listeners"] == 0
    assert [r["id"] for r in api.get("/api/rooms").json()["rooms"]] == [room["id"]]
    assert api.get(f"/api/rooms/{room['id']}").json()["title"] == "Burning questions"

    other = server.identity("Bo")
    refused = api.post(f"/api/rooms/{room['id']}/end", headers=auth(other))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"

    ended = api.post(f"/api/rooms/{room['id']}/end", headers=auth(token))
    assert ended.json()["status"] == "ended" and ended.json()["ended_at"]
    assert api.get("/api/rooms").json()["rooms"] == []
    again = api.post(f"/api/rooms/{room['id']}/end", headers=auth(token))
    assert again.status_code == 409 and again.json()["error"]["code"] == "room_ended"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("post", "/api/identity", {"json": {"name": ""}}, 422, "invalid_message"),
        (
            "post",
            "/api/identity",
            {"content": b"{oops", "headers": {"content-type": "application/json"}},
            400,
            "bad_json",
        ),
        ("post", "/api/rooms", {"json": {"title": "x"}}, 401, "unauthorized"),
        ("post", "/api/rooms", {"json": {"title": "x"}, "headers": auth("forged")}, 401, "unauthorized"),
        ("get", "/api/me", {}, 401, "unauthorized"),
        ("get", "/api/rooms/nope", {}, 404, "room_not_found"),
        ("get", "/api/rooms/no%20pe", {}, 422, "invalid_message"),
        ("post", "/api/rooms/nope/end", {"headers": {}}, 401, "unauthorized"),
    ],
)
async def test_bad_rest_requests_change_nothing(server, redis_snapshot, method, path, kwargs, status, code) -> None:
    server.create_room(server.identity("Host"))
    before = await redis_snapshot()
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        reply = await api.request(method.upper(), path, **kwargs)
    assert reply.status_code == status
    assert reply.json()["error"]["code"] == code
    assert await redis_snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        {"title": "x", "colour": "red"},
        {"title": "x", "settings": {"slots": "3"}},
        {"title": "x", "settings": {"allow_direct_stage": "yes"}},
        {"title": 5},
    ],
)
async def test_rest_bodies_are_as_strict_as_the_websocket(server, redis_snapshot, body) -> None:
    token = server.identity("Host")
    before = await redis_snapshot()
    reply = httpx.post(f"{server.base_url}/api/rooms", json=body, headers=auth(token))
    assert reply.status_code == 422 and reply.json()["error"]["code"] == "invalid_message", reply.text
    assert await redis_snapshot() == before


def test_an_unknown_address_is_a_page_for_browsers_and_json_for_the_api(server) -> None:
    browser = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = httpx.get(f"{server.base_url}/no-such-page", headers=browser)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "nothing here" in page.text and 'href="/"' in page.text
    for path, headers in (("/no-such-page", {}), ("/api/no-such-thing", browser)):
        reply = httpx.get(f"{server.base_url}{path}", headers=headers)
        assert reply.status_code == 404 and reply.json()["error"]["code"] == "not_found"


async def join(server, room_id: str, token: str) -> tuple[SignalingClient, m.Joined]:
    client = await SignalingClient.connect(server.ws_url)
    return client, await client.request("join", room=room_id, token=token)  # type: ignore[return-value]


async def test_listeners_drop_in_and_out_without_fanfare(server) -> None:
    host_token = server.identity("Host Ada")
    room_id = server.create_room(host_token)
    host, welcome = await join(server, room_id, host_token)
    assert welcome.you.role == "host"
    assert [(s.name, s.role) for s in welcome.stage] == [("Host Ada", "host")]

    listener, joined = await join(server, room_id, server.identity("Bo"))
    assert joined.you.role == "listener" and joined.audience.count == 1
    assert server.room(room_id)["listeners"] == 1
    # The host hears of Bo only as a count, batched; never as a stage change.
    assert (await host.next_event(timeout=5)) == m.AudienceEvent(count=1)

    assert isinstance(await listener.request("leave"), m.Ok)
    await listener.wait_closed()
    assert server.room(room_id)["listeners"] == 0
    assert (await host.next_event(timeout=5)) == m.AudienceEvent(count=0)
    await host.close()


async def test_a_dropped_connection_leaves_quietly_after_the_reconnect_grace(server) -> None:
    host_token = server.identity("Host")
    room_id = server.create_room(host_token)
    listener, _ = await join(server, room_id, server.identity("Bo"))
    await listener.close()
    for _ in range(50):
        if server.room(room_id)["listeners"] == 0:
            break
        await asyncio.sleep(0.1)
    assert server.room(room_id)["listeners"] == 0


async def test_the_stage_is_announced_at_once(server) -> None:
    host_token = server.identity("Host Ada")
    room_id = server.create_room(host_token)
    listener, _ = await join(server, room_id, server.identity("Bo"))
    host, _ = await join(server, room_id, host_token)
    joined = await listener.next_event("member_joined", timeout=2)
    assert (joined.member.name, joined.member.role) == ("Host Ada", "host")
    assert isinstance(await host.request("leave"), m.Ok)
    left = await listener.next_event("member_left", timeout=2)
    assert left.id == joined.member.id and left.seq > joined.seq
    await listener.close()


async def test_ending_a_room_tells_everyone_and_closes_their_connections(server) -> None:
    host_token = server.identity("Host")
    room_id = server.create_room(host_token)
    host, _ = await join(server, room_id, host_token)
    listener, _ = await join(server, room_id, server.identity("Bo"))
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        (await api.post(f"/api/rooms/{room_id}/end", headers=auth(host_token))).raise_for_status()
    for client in (host, listener):
        assert isinstance(await client.next_event("room_ended", timeout=5), m.RoomEnded)
        await client.wait_closed()
    assert server.room(room_id)["counts"] == {"host": 0, "moderator": 0, "speaker": 0, "listener": 0}


async def test_joining_again_replaces_the_earlier_connection(server) -> None:
    host_token = server.identity("Host")
    room_id = server.create_room(host_token)
    token = server.identity("Bo")
    first, _ = await join(server, room_id, token)
    second, _ = await join(server, room_id, token)
    replaced = await first.next_event("error", timeout=5)
    assert replaced.code == "session_replaced"
    await first.wait_closed()
    assert server.room(room_id)["listeners"] == 1
    assert isinstance(await second.request("ping"), m.Pong)
    with pytest.raises(RequestFailed) as refused:
        await second.request("join", room=room_id, token=token)
    assert refused.value.code == "already_joined"
    await second.close()
