"""Typed questions in a room, the round-up after it, and who may enter a scheduled room."""

from __future__ import annotations

import asyncio
import time

import httpx
import jwt
import pytest
from redis.asyncio import Redis

from server.domain.room import Identity
from server.state import keys
from server.state.rooms import RoomStore
from signaling.client import RequestFailed
from support import Member


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def identity_of(token: str) -> Identity:
    claims = jwt.decode(token, options={"verify_signature": False})
    return Identity(claims["sub"], claims["name"])


async def test_questions_are_asked_upvoted_answered_and_in_the_snapshot(server) -> None:
    host_token = server.identity("Host")
    room_id = server.create_room(host_token)
    host = await Member.enter(server.ws_url, room_id, host_token)
    ada = await Member.enter(server.ws_url, room_id, server.identity("Ada"))
    bo_token = server.identity("Bo")
    bo = await Member.enter(server.ws_url, room_id, bo_token)

    await ada.act("ask", text="  How do we measure learning impact?  ")
    await bo.act("ask", text="Which LMS do you use?")
    asked = (await host.expect("question_asked")).question
    assert (asked.text, asked.by.name, asked.votes) == ("How do we measure learning impact?", "Ada", 0)
    assert (await host.expect("question_asked")).question.by.name == "Bo"
    first = asked.id

    await bo.act("upvote", question=first)
    await host.act("upvote", question=first)
    with pytest.raises(RequestFailed) as twice:
        await bo.act("upvote", question=first)
    assert twice.value.code == "already_voted"
    with pytest.raises(RequestFailed) as not_theirs:
        await bo.act("mark_answered", question=first)
    assert not_theirs.value.code == "forbidden"
    with pytest.raises(RequestFailed) as unknown:
        await bo.act("upvote", question="q999")
    assert unknown.value.code == "question_not_found"
    await host.act("mark_answered", question=first)
    updated = await ada.expect("question_updated")
    while not updated.question.answered:
        updated = await ada.expect("question_updated")
    assert updated.question.votes == 2

    late = await Member.enter(server.ws_url, room_id, server.identity("Late"))
    assert [(q.text, q.votes, q.answered) for q in late.welcome.questions] == [
        ("How do we measure learning impact?", 2, True), ("Which LMS do you use?", 0, False)]
    await bo.client.close()
    bo = await Member.enter(server.ws_url, room_id, bo_token)
    assert bo.welcome.your_votes == [first], "a rejoin remembers your votes"
    for member in (host, ada, bo, late):
        await member.client.close()


async def test_the_round_up_of_a_room(server) -> None:
    host_token = server.identity("Host")
    ada_token, bo_token = server.identity("Ada"), server.identity("Bo")
    room_id = server.create_room(host_token, title="Burning questions")
    host = await Member.enter(server.ws_url, room_id, host_token)
    ada = await Member.enter(server.ws_url, room_id, ada_token)
    bo = await Member.enter(server.ws_url, room_id, bo_token)
    await ada.act("raise_hand")
    await bo.act("raise_hand")
    await host.act("invite", target=ada.id)
    await ada.act("accept_invite")
    await bo.act("ask", text="What about compliance training?")
    await asyncio.sleep(1.2)
    await host.act("end_room")
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        refused = await api.put(f"/api/rooms/{room_id}/notes", json={"notes": "x"}, headers=auth(bo_token))
        assert refused.status_code == 403
        saved = await api.put(f"/api/rooms/{room_id}/notes", json={"notes": "Great turnout."}, headers=auth(host_token))
        assert saved.json() == {"notes": "Great turnout."}
        roundup = (await api.get(f"/api/rooms/{room_id}/roundup")).json()
        markdown = (await api.get(f"/api/rooms/{room_id}/roundup.md")).text
    assert roundup["status"] == "ended" and roundup["ended_at"]
    assert roundup["peak_listeners"] == 2 and roundup["unique_listeners"] == 2
    assert [p["name"] for p in roundup["listeners"]] == ["Ada", "Bo"]
    assert roundup["hands_raised"] == 2
    stage = {s["name"]: s["seconds"] for s in roundup["stage"]}
    assert set(stage) == {"Host", "Ada"} and stage["Ada"] >= 1.0 and stage["Host"] > stage["Ada"]
    assert [(q["text"], q["by"]["name"], q["answered"]) for q in roundup["questions"]] == [
        ("What about compliance training?", "Bo", False)]
    assert roundup["notes"] == "Great turnout."
    for text in ("# Burning questions — round-up", "- Ada — ",
                 "What about compliance training? — Bo, 0 votes (not answered)",
                 "Great turnout.", "2 in all, 2 at the peak", "## Who came to listen\n\nAda, Bo"):
        assert text in markdown


@pytest.fixture
async def store(server):
    client = Redis.from_url(server.redis_url, decode_responses=True)
    yield RoomStore(client, host_grace_s=60)
    await client.aclose()


async def test_a_scheduled_room_lets_cohosts_in_early_and_guests_at_the_start(server, store) -> None:
    host_token, cohost_token = server.identity("Host"), server.identity("Co-host")
    guest_token, stranger_token = server.identity("Guest"), server.identity("Stranger")
    room = await store.create(
        identity_of(host_token), "Open agenda", visibility="invite", event_id="ev1", occurrence="2026-04-02",
        cohosts=[identity_of(cohost_token).id], opens_at=time.time() + 1.5,
    )
    host = await Member.enter(server.ws_url, room.id, host_token)
    cohost = await Member.enter(server.ws_url, room.id, cohost_token)
    assert (host.welcome.you.role, cohost.welcome.you.role) == ("host", "moderator")
    assert host.welcome.room.event.id == "ev1" and host.welcome.room.visibility == "invite"
    with pytest.raises(RequestFailed) as early:
        await Member.enter(server.ws_url, room.id, guest_token)
    assert early.value.code == "not_open_yet"
    await store.redis.sadd(keys.event_guests("ev1"), identity_of(guest_token).id)
    await asyncio.sleep(1.6)
    guest = await Member.enter(server.ws_url, room.id, guest_token)
    assert guest.welcome.you.role == "listener"
    with pytest.raises(RequestFailed) as uninvited:
        await Member.enter(server.ws_url, room.id, stranger_token)
    assert uninvited.value.code == "not_invited"
    for member in (host, cohost, guest):
        await member.client.close()


async def test_a_club_room_admits_club_members(server, store) -> None:
    host_token, member_token, outsider_token = (server.identity(n) for n in ("Host", "Member", "Outsider"))
    await store.redis.hset(keys.club_members("club1"), identity_of(member_token).id, "Member")
    room = await store.create(identity_of(host_token), "Club hour", visibility="club", club_id="club1")
    member = await Member.enter(server.ws_url, room.id, member_token)
    assert member.welcome.you.role == "listener"
    with pytest.raises(RequestFailed) as outsider:
        await Member.enter(server.ws_url, room.id, outsider_token)
    assert outsider.value.code == "not_invited"
    await member.client.close()
