"""The room's chat, the backchannel beside the audio: order and history, paging back, moderation
(delete, off, slow mode), limits, and a reconnect that misses nothing. Against a real server and
Redis, over the websocket protocol."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from redis.asyncio import Redis

from server.state import keys
from signaling.client import RequestFailed, SignalingClient
from support import Member


async def refused(member: Member, action: str, code: str, **fields: object) -> str:
    with pytest.raises(RequestFailed) as failure:
        await member.act(action, **fields)
    assert failure.value.code == code, failure.value
    return str(failure.value)


async def host_ada_and_bo(server) -> tuple[str, Member, Member, Member]:
    """A new room, with its host and two listeners in it."""
    host_token = server.identity("Host")
    room_id = server.create_room(host_token)
    host = await Member.enter(server.ws_url, room_id, host_token)
    return room_id, host, *[await Member.enter(server.ws_url, room_id, server.identity(n)) for n in ("Ada", "Bo")]


async def test_messages_arrive_in_order_and_a_joiner_sees_the_latest_page_then_pages_back(server) -> None:
    host_token = server.identity("Host")
    room_id = server.create_room(host_token)
    host = await Member.enter(server.ws_url, room_id, host_token)
    posters = [await Member.enter(server.ws_url, room_id, server.identity(f"P{i}")) for i in range(55)]
    for i, poster in enumerate(posters):  # one each: nobody waits out the gap between their own
        await poster.act("chat", text=f"  message {i + 1}: https://example.org/{i + 1}  ")
    posted = [await host.expect("chat_posted") for _ in posters]
    assert [p.message.text for p in posted] == [f"message {i}: https://example.org/{i}" for i in range(1, 56)]
    assert [p.message.id for p in posted] == [f"c{i}" for i in range(1, 56)]
    assert [p.message.by.name for p in posted] == [f"P{i}" for i in range(55)]
    assert all(a.seq < b.seq for a, b in zip(posted, posted[1:])), "the room log orders them"

    late = await Member.enter(server.ws_url, room_id, server.identity("Late"))
    recent = late.welcome.chat_recent
    assert [m.id for m in recent] == [f"c{i}" for i in range(6, 56)], "the latest 50, oldest first"
    assert late.welcome.chat_more and not host.welcome.chat_more
    page = await late.client.request("chat_history", before=recent[0].id)
    assert [m.id for m in page.messages] == [f"c{i}" for i in range(1, 6)] and not page.more
    middle = await late.client.request("chat_history", before="c52")
    assert [m.id for m in middle.messages] == [f"c{i}" for i in range(2, 52)] and middle.more
    assert (await late.client.request("chat_history", before="c1")).messages == []
    for member in (host, late, *posters):
        await member.client.close()


async def test_moderators_delete_turn_chat_off_and_slow_it_down(server, redis_client: Redis) -> None:
    room_id, host, ada, bo = await host_ada_and_bo(server)

    await ada.act("chat", text="first!")
    message = (await bo.expect("chat_posted")).message
    await refused(bo, "delete_message", "forbidden", message=message.id)
    await refused(host, "delete_message", "message_not_found", message="c999")
    await host.act("delete_message", message=message.id)
    deleted = await bo.expect("chat_deleted")
    assert (deleted.id, deleted.by.name) == (message.id, "Host")
    assert message.id not in bo.view.chat
    stored = json.loads(await redis_client.hget(keys.chat(room_id), message.id))
    assert stored["deleted"] and stored["text"] == "", "the text is gone from Redis, not just hidden"

    await refused(ada, "chat", "chat_too_soon", text="again, at once")  # a second between anyone's messages
    await refused(bo, "set_chat", "forbidden", enabled=False)
    await host.act("set_chat", enabled=True, slow_s=30)
    assert (await ada.expect("chat_changed")).chat.slow_s == 30
    await bo.act("chat", text="one in slow mode")
    said = await refused(bo, "chat", "chat_too_soon", text="and another")
    assert "30 s" in said or "29 s" in said, said
    await host.act("chat", text="moderators are not slowed")
    await asyncio.sleep(1.05)
    await host.act("chat", text="…beyond the one second everyone waits")

    await host.act("set_chat", enabled=False, slow_s=0)
    changed = await ada.expect("chat_changed")
    assert (changed.chat.enabled, changed.chat.slow_s) == (False, 0)
    posted = int(await redis_client.hget(keys.room(room_id), "chat_posted"))
    await asyncio.sleep(1.05)
    await refused(ada, "chat", "chat_off", text="anyone there?")
    await host.act("chat", text="chat is off for a moment")
    assert int(await redis_client.hget(keys.room(room_id), "chat_posted")) == posted + 1, "a refusal stores nothing"

    late = await Member.enter(server.ws_url, room_id, server.identity("Late"))
    assert not late.welcome.chat.enabled
    assert [m.text for m in late.welcome.chat_recent] == [
        "one in slow mode", "moderators are not slowed", "…beyond the one second everyone waits",
        "chat is off for a moment"], "the deleted message is not sent to joiners"
    await host.act("set_chat", enabled=True)
    await late.expect("chat_changed")
    await late.act("chat", text="back on")
    for member in (host, ada, bo, late):
        await member.client.close()


async def test_bad_chat_is_refused_and_stores_nothing(server, redis_client: Redis) -> None:
    host_token = server.identity("Host")
    room_id = server.create_room(host_token)
    host = await Member.enter(server.ws_url, room_id, host_token)
    for fields in ({"text": ""}, {"text": "   "}, {"text": "x" * 501}, {"text": 42}, {}):
        await refused(host, "chat", "invalid_message", **fields)
    await refused(host, "set_chat", "invalid_message", enabled=True, slow_s=301)
    await refused(host, "chat_history", "invalid_message", before="c-1")
    assert await redis_client.hget(keys.room(room_id), "chat_posted") is None
    assert await redis_client.hlen(keys.chat(room_id)) == 0

    stranger = await SignalingClient.connect(server.ws_url)  # in no room: chat anywhere is refused
    for request, fields in (("chat", {"text": "let me in"}), ("chat_history", {"before": "c5"})):
        with pytest.raises(RequestFailed) as failure:
            await stranger.request(request, **fields)
        assert failure.value.code == "not_joined"
    await host.act("chat", text="x" * 500)  # the limit itself is fine
    await host.client.close()
    await stranger.close()


async def test_a_reconnect_misses_no_message(server) -> None:
    host_token, ada_token = server.identity("Host"), server.identity("Ada")
    room_id = server.create_room(host_token)
    host = await Member.enter(server.ws_url, room_id, host_token)
    ada = await Member.enter(server.ws_url, room_id, ada_token)
    await host.act("chat", text="before the drop")
    await ada.expect("chat_posted")
    last_seq = ada.view.seq
    await ada.client.close()
    bo = await Member.enter(server.ws_url, room_id, server.identity("Bo"))
    cy = await Member.enter(server.ws_url, room_id, server.identity("Cy"))
    await bo.act("chat", text="while Ada was away")
    await cy.act("chat", text="still away")
    await host.expect("chat_posted")
    await host.expect("chat_posted")

    back = await Member.enter(server.ws_url, room_id, ada_token, last_seq=last_seq)
    assert back.welcome.resumed
    missed = [event.message.text for event in back.welcome.missed if event.type == "chat_posted"]
    assert missed == ["while Ada was away", "still away"]
    for member in (host, bo, cy, back):
        await member.client.close()


async def test_the_round_up_counts_the_chat_lists_its_links_and_exports_it_on_request(server) -> None:
    room_id, host, ada, bo = await host_ada_and_bo(server)
    await ada.act("chat", text="Deck: https://example.org/deck. Notes (https://example.org/notes)")
    await bo.act("chat", text="spam https://spam.example/win")
    await host.act("chat", text="Welcome, all")
    spam = next(m for m in [(await host.expect("chat_posted")).message for _ in range(3)] if "spam" in m.text)
    await host.act("delete_message", message=spam.id)
    await host.expect("chat_deleted")

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        roundup = (await http.get(f"/api/rooms/{room_id}/roundup")).json()
        markdown = (await http.get(f"/api/rooms/{room_id}/roundup.md")).text
        with_chat = (await http.get(f"/api/rooms/{room_id}/roundup.md", params={"chat": "true"})).text
    assert roundup["chat_messages"] == 2, "a deleted message is not counted"
    assert [p["name"] for p in roundup["chat_people"]] == ["Ada", "Host"]
    assert [(link["url"], link["by"]["name"]) for link in roundup["links"]] == [
        ("https://example.org/deck", "Ada"), ("https://example.org/notes", "Ada")]
    assert [m["text"] for m in roundup["chat"]] == [
        "Deck: https://example.org/deck. Notes (https://example.org/notes)", "Welcome, all"]
    assert "- **Chat:** 2 messages from 2 people" in markdown
    assert "- <https://example.org/deck> — Ada" in markdown and "spam" not in markdown
    assert "## Chat" not in markdown and "Welcome, all" not in markdown, "the chat itself only on request"
    assert "## Chat" in with_chat and "**Host:** Welcome, all" in with_chat
    for member in (host, ada, bo):
        await member.client.close()


async def test_removing_a_member_can_delete_their_messages_too(server, redis_client: Redis) -> None:
    room_id, host, ada, bo = await host_ada_and_bo(server)
    cy = await Member.enter(server.ws_url, room_id, server.identity("Cy"))
    await bo.act("chat", text="buy cheap watches")
    await ada.act("chat", text="a fair point")
    await asyncio.sleep(1.05)
    await bo.act("chat", text="buy more watches")
    await cy.act("chat", text="stays, though Cy is removed")
    await host.until(lambda view: len(view.chat) == 4)
    await host.act("remove", target=cy.id)  # without hiding: their messages stay
    await host.act("remove", target=bo.id, ban="room", hide_messages=True)
    hidden = await ada.expect("chat_hidden")
    assert (hidden.id, hidden.by.name) == (bo.id, "Host")
    assert [m.text for m in ada.view.chat.values()] == ["a fair point", "stays, though Cy is removed"]
    stored = [json.loads(raw) for raw in (await redis_client.hgetall(keys.chat(room_id))).values()]
    assert all(m["deleted"] and not m["text"] for m in stored if m["by"]["name"] == "Bo")
    late = await Member.enter(server.ws_url, room_id, server.identity("Late"))
    assert [m.text for m in late.welcome.chat_recent] == ["a fair point", "stays, though Cy is removed"]
    for member in (host, ada, late):
        await member.client.close()
