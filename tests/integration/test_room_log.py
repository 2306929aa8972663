"""The room log as stored: each entry carries its format version, entries written before versions
(format 1, the wire's shape with `seq` inside) are still read, and one a node can't read is
skipped without stopping the room."""

from __future__ import annotations

import json
import time

from redis.asyncio import Redis

from server.domain import events as e
from server.domain.room import Hand, Identity, Member, Role
from server.state import keys
from server.state.log import VERSION
from server.state.rooms import RoomStore
from support import Member as Participant
from vocabulary.actions import Action

RAISED_AT = 1_764_486_000.25


async def append_as_before_versions(redis: Redis, room_id: str, event: dict[str, object]) -> int:
    """Append an entry the way Dropin wrote them before the log had versions (format 1)."""
    seq = await redis.hincrby(keys.room(room_id), "seq", 1)
    await redis.xadd(keys.log(room_id), {"event": json.dumps({**event, "seq": seq})}, id=f"{seq}-0")
    return seq


async def test_entries_carry_their_version_and_not_the_wires_shape(redis: Redis) -> None:
    store = RoomStore(redis, host_grace_s=60)
    room = await store.create(Identity("h", "Host"), "Log")
    await store.join(room.id, Identity("h", "Host"), "c1")
    await store.join(room.id, Identity("a", "Ada"), "c2")
    seq = await store.act(room.id, "a", Action.RAISE_HAND)
    ((_, fields),) = await redis.xrange(keys.log(room.id), f"{seq}-0", f"{seq}-0")
    assert fields["v"] == str(VERSION) == "2"
    stored = json.loads(fields["event"])
    assert "seq" not in stored  # the entry's id is the sequence number
    assert stored["type"] == "hand_raised" and isinstance(stored["hand"]["raised_at"], float | int)


async def test_an_entry_written_before_versions_is_read_as_the_same_event(redis: Redis) -> None:
    store = RoomStore(redis, host_grace_s=60)
    room = await store.create(Identity("h", "Host"), "Log")
    await store.join(room.id, Identity("h", "Host"), "c1")
    old = await append_as_before_versions(redis, room.id, {
        "type": "hand_raised", "hand": {"id": "a", "name": "Ada", "raised_at": RAISED_AT},
    })
    removed = await append_as_before_versions(redis, room.id, {
        "type": "member_removed", "id": "a", "role": "listener", "banned_until": RAISED_AT + 3600,
        "banned_for_room": False,
    })
    events = await store.events_since(room.id, 0, removed)
    assert events == [
        e.MemberJoined(seq=1, member=Member(id="h", name="Host", role=Role.HOST)),
        e.HandRaised(seq=old, hand=Hand(id="a", name="Ada", raised_at=RAISED_AT)),
        e.MemberRemoved(seq=removed, id="a", role=Role.LISTENER, banned_until=RAISED_AT + 3600),
    ]


async def test_members_hear_old_entries_live_and_on_resume(server, redis_client: Redis) -> None:
    token = server.identity("Host")
    room_id = server.create_room(token)
    host = await Participant.enter(server.ws_url, room_id, token)
    asked_at = time.time()
    seq = await append_as_before_versions(redis_client, room_id, {
        "type": "question_asked",
        "question": {"id": "q1", "by": {"id": host.id, "name": "Host"}, "text": "Still there?", "votes": 0,
                     "answered": False, "asked_at": asked_at},
    })
    live = await host.expect("question_asked")
    assert live.seq == seq and live.question.text == "Still there?"
    assert live.question.asked_at.startswith(time.strftime("%Y-%m-%d", time.gmtime(asked_at)))
    await host.client.close()

    again = await Participant.enter(server.ws_url, room_id, token, last_seq=seq - 1)
    assert again.welcome.resumed
    assert [(event.type, event.seq) for event in again.welcome.missed] == [("question_asked", seq)]
    assert again.welcome.missed[0] == live
    await again.client.close()


async def test_an_entry_from_a_newer_dropin_is_skipped_and_the_room_goes_on(server, redis_client: Redis) -> None:
    token = server.identity("Host")
    room_id = server.create_room(token)
    host = await Participant.enter(server.ws_url, room_id, token)
    seq = await redis_client.hincrby(keys.room(room_id), "seq", 1)
    await redis_client.xadd(keys.log(room_id), {"v": "99", "event": "{}"}, id=f"{seq}-0")
    await host.act("ask", text="Does the room go on?")
    asked = await host.expect("question_asked")
    assert asked.seq == seq + 1
    assert "format version 99" in server.log
    await host.client.close()
