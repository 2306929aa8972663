"""Invite links: newcomers get into private clubs and invite-only events; expiry, revocation and
the use limit hold, also under concurrent accepts."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from server.state import keys
from signaling.client import RequestFailed, SignalingClient

LONDON = ZoneInfo("Europe/London")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def client(server, name: str) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers=auth(server.identity(name)))


def error(reply: httpx.Response) -> tuple[int, str]:
    return reply.status_code, reply.json()["error"]["code"]


def local(delta: timedelta) -> str:
    return (datetime.now(LONDON) + delta).strftime("%Y-%m-%dT%H:%M")


def series(host: httpx.Client, **fields) -> dict:
    body = {"title": "Burning questions", "timezone": "Europe/London", "start": local(timedelta(days=1)),
            "duration_minutes": 60, "recurrence": {"frequency": "weekly", "count": 4}, **fields}
    reply = host.post("/api/events", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def invite(host: httpx.Client, event_id: str, **fields) -> dict:
    reply = host.post(f"/api/events/{event_id}/invites", json=fields)
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_an_invite_lets_a_newcomer_into_a_private_club_and_its_event(server) -> None:
    ada, bo, cy = client(server, "Ada"), client(server, "Bo"), client(server, "Cy")
    club = ada.post("/api/clubs", json={"name": "Inner circle", "visibility": "private"}).json()
    event = series(ada, club_id=club["id"])
    assert event["visibility"] == "club"  # a private club's series default to its members
    day = event["next"]["date"]

    link = invite(ada, event["id"], follow_club=True, max_uses=5)
    assert link["url"] == f"/invite/{link['token']}" and len(link["token"]) >= 32
    assert (link["uses"], link["max_uses"], link["revoked"], link["follow_club"]) == (0, 5, False, True)
    preview = httpx.get(f"{server.base_url}/api/invites/{link['token']}").json()
    assert preview["event"]["id"] == event["id"] and preview["event"]["title"] == "Burning questions"
    assert preview["club"] == {"id": club["id"], "name": "Inner circle"}
    assert (preview["valid"], preview["reason"], preview["expires_at"]) == (True, None, link["expires_at"])
    assert preview["follow_club"] is True  # the invite page tells the guest they join the club

    assert error(bo.get(f"/api/events/{event['id']}")) == (404, "event_not_found")
    assert error(bo.get(f"/api/clubs/{club['id']}")) == (404, "club_not_found")
    accepted = bo.post(f"/api/invites/{link['token']}/accept").json()
    assert accepted == {"event_id": event["id"], "club_id": club["id"], "followed_club": True}
    assert bo.get(f"/api/events/{event['id']}").status_code == 200
    assert bo.post(f"/api/events/{event['id']}/occurrences/{day}/rsvp").json()["you_rsvped"] is True
    assert bo.get(f"/api/clubs/{club['id']}").json()["you"] == {"member": True, "host": False}
    assert [c["id"] for c in bo.get("/api/clubs").json()["clubs"]] == [club["id"]]
    assert bo.post(f"/api/invites/{link['token']}/accept").json() == accepted
    assert error(bo.delete(f"/api/invites/{link['id']}")) == (403, "forbidden")
    assert ada.get(f"/api/events/{event['id']}/invites").json()["invites"][0]["uses"] == 1

    guest_only = invite(ada, event["id"], follow_club=False)
    assert httpx.get(f"{server.base_url}/api/invites/{guest_only['token']}").json()["follow_club"] is False
    assert cy.post(f"/api/invites/{guest_only['token']}/accept").json()["followed_club"] is False
    assert cy.get(f"/api/events/{event['id']}").status_code == 200
    assert error(cy.get(f"/api/clubs/{club['id']}")) == (404, "club_not_found")
    assert [i["id"] for i in ada.get(f"/api/events/{event['id']}/invites").json()["invites"]] == [
        guest_only["id"], link["id"]]


async def test_an_invited_guest_may_join_the_invite_only_room(server) -> None:
    ada = client(server, "Ada")
    guest_token, stranger_token = server.identity("Bo"), server.identity("Cy")
    event = series(ada, visibility="invite", start=local(-timedelta(minutes=1)))
    link = invite(ada, event["id"])
    assert link["follow_club"] is False  # no club to follow
    httpx.post(f"{server.base_url}/api/invites/{link['token']}/accept", headers=auth(guest_token)).raise_for_status()
    room_id = ada.post(f"/api/events/{event['id']}/occurrences/{event['next']['date']}/open").json()["room_id"]

    guest = await SignalingClient.connect(server.ws_url)
    assert (await guest.request("join", room=room_id, token=guest_token)).you.role == "listener"
    stranger = await SignalingClient.connect(server.ws_url)
    with pytest.raises(RequestFailed) as refused:
        await stranger.request("join", room=room_id, token=stranger_token)
    assert refused.value.code == "not_invited"
    await guest.close()
    await stranger.close()


async def test_expired_revoked_and_unknown_invites_are_refused(server, redis_snapshot) -> None:
    ada, bo = client(server, "Ada"), client(server, "Bo")
    event = series(ada, visibility="invite")
    brief = invite(ada, event["id"], expires_in_hours=0.0003)
    withdrawn = invite(ada, event["id"])
    assert error(bo.delete(f"/api/invites/{withdrawn['id']}")) == (404, "invite_not_found")
    revoked = ada.delete(f"/api/invites/{withdrawn['id']}").json()
    assert revoked["revoked"] is True and revoked["id"] == withdrawn["id"]
    await asyncio.sleep(max(0.0, datetime.fromisoformat(brief["expires_at"]).timestamp() - time.time()) + 0.2)

    before = await redis_snapshot()
    assert httpx.get(f"{server.base_url}/api/invites/{brief['token']}").json()["reason"] == "expired"
    assert httpx.get(f"{server.base_url}/api/invites/{withdrawn['token']}").json()["valid"] is False
    assert error(bo.post(f"/api/invites/{brief['token']}/accept")) == (410, "invite_expired")
    assert error(bo.post(f"/api/invites/{withdrawn['token']}/accept")) == (410, "invite_revoked")
    assert error(bo.post("/api/invites/nope/accept")) == (404, "invite_not_found")
    assert error(httpx.get(f"{server.base_url}/api/invites/nope")) == (404, "invite_not_found")
    assert error(httpx.post(f"{server.base_url}/api/invites/{withdrawn['token']}/accept")) == (401, "unauthorized")
    assert error(bo.post(f"/api/events/{event['id']}/invites", json={})) == (404, "event_not_found")
    assert error(bo.get(f"/api/events/{event['id']}/invites")) == (404, "event_not_found")
    assert error(ada.post(f"/api/events/{event['id']}/invites", json={"max_uses": 0})) == (422, "invalid_message")
    assert await redis_snapshot() == before
    assert error(bo.get(f"/api/events/{event['id']}")) == (404, "event_not_found")


async def test_concurrent_accepts_never_exceed_the_use_limit(server, redis_client) -> None:
    ada = client(server, "Ada")
    event = series(ada, visibility="invite")
    link = invite(ada, event["id"], max_uses=3)
    tokens = [server.identity(f"Guest {n}") for n in range(12)]
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        replies = await asyncio.gather(*(
            api.post(f"/api/invites/{link['token']}/accept", headers=auth(token)) for token in tokens
        ))
        winners = [token for token, reply in zip(tokens, replies) if reply.status_code == 200]
        assert len(winners) == 3
        assert {error(r) for r in replies if r.status_code != 200} == {(410, "invite_used_up")}
        assert (await api.post(f"/api/invites/{link['token']}/accept", headers=auth(winners[0]))).status_code == 200
    assert await redis_client.scard(keys.event_guests(event["id"])) == 3
    listed = ada.get(f"/api/events/{event['id']}/invites").json()["invites"][0]
    assert listed["uses"] == 3
    assert httpx.get(f"{server.base_url}/api/invites/{link['token']}").json()["reason"] == "used_up"
