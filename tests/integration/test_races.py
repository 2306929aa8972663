"""Races on a real Redis: concurrent actions through separate connections; exactly one wins and
the room is never half changed."""

from __future__ import annotations

import asyncio
import json

import pytest
from redis.asyncio import Redis

from server.domain.room import Identity
from server.state import keys
from server.state.rooms import RoomStore
from vocabulary.actions import Action
from vocabulary.errors import DropinError

CONTENDERS = 8


@pytest.fixture
async def stores(redis_server):
    """Several RoomStores, each on its own Redis connection pool, as separate nodes would be."""
    clients = [Redis.from_url(redis_server.url, decode_responses=True) for _ in range(CONTENDERS)]
    await clients[0].flushdb()
    yield [RoomStore(client, host_grace_s=60) for client in clients]
    for client in clients:
        await client.aclose()


async def room_with(store: RoomStore, moderators: int, listeners: int) -> tuple[str, list[str], list[str]]:
    host = Identity("host", "Host")
    room = await store.create(host, "Race")
    await store.join(room.id, host, "conn-host")
    mods = [f"mod{i}" for i in range(moderators)]
    for mod in mods:
        await store.join(room.id, Identity(mod, mod), f"conn-{mod}")
        await store.act(room.id, "host", Action.MAKE_MODERATOR, mod)
    people = [f"listener{i}" for i in range(listeners)]
    for person in people:
        await store.join(room.id, Identity(person, person), f"conn-{person}")
    return room.id, mods, people


def outcomes(results: list[object]) -> tuple[int, list[str]]:
    wins = [r for r in results if isinstance(r, int)]
    losses = [r.code for r in results if isinstance(r, DropinError)]
    assert len(wins) + len(losses) == len(results), results
    return len(wins), losses


async def test_moderators_inviting_the_same_hand(stores) -> None:
    room_id, mods, (ada,) = await room_with(stores[0], moderators=CONTENDERS, listeners=1)
    await stores[0].act(room_id, ada, Action.RAISE_HAND)
    results = await asyncio.gather(
        *(store.act(room_id, mod, Action.INVITE, ada) for store, mod in zip(stores, mods)), return_exceptions=True
    )
    wins, losses = outcomes(results)
    assert wins == 1 and set(losses) == {"already_invited"}
    redis = stores[0].redis
    assert await redis.hlen(keys.invites(room_id)) == 1
    assert await redis.zcard(keys.hands(room_id)) == 0
    log = [json.loads(f["event"])["type"] for _, f in await redis.xrange(keys.log(room_id))]
    assert log.count("invited") == 1 and log.count("hand_lowered") == 1


async def test_a_promotion_racing_a_leave(stores) -> None:
    for _ in range(10):
        room_id, (mod,), (ada,) = await room_with(stores[0], moderators=1, listeners=1)
        results = await asyncio.gather(
            stores[1].act(room_id, mod, Action.MAKE_MODERATOR, ada),
            stores[2].leave(room_id, ada),
            return_exceptions=True,
        )
        promoted, left = results
        assert left is not None and not isinstance(left, Exception), "the leave always succeeds"
        assert isinstance(promoted, int) or promoted.code == "not_in_room"
        redis = stores[0].redis
        assert not await redis.hexists(keys.members(room_id), ada)
        assert await redis.zscore(keys.stage(room_id), ada) is None
        assert await redis.zscore(keys.audience(room_id), ada) is None
        counts = {role: n for role, n in (await redis.hgetall(keys.counts(room_id))).items() if n != "0"}
        assert counts == {"host": "1", "moderator": "1"}


async def test_a_double_accept(stores) -> None:
    room_id, (mod,), (ada,) = await room_with(stores[0], moderators=1, listeners=1)
    await stores[0].act(room_id, mod, Action.INVITE, ada)
    results = await asyncio.gather(
        *(store.act(room_id, ada, Action.ACCEPT_INVITE) for store in stores), return_exceptions=True
    )
    wins, losses = outcomes(results)
    assert wins == 1
    assert set(losses) <= {"forbidden", "no_invitation", "conflict"}
    member = await stores[0].member(room_id, ada)
    assert member is not None and member.role == "speaker"
    assert await stores[0].redis.hget(keys.counts(room_id), "speaker") == "1"


async def test_mute_and_move_to_audience_at_once_leave_a_consistent_member(stores) -> None:
    room_id, (mod,), (ada,) = await room_with(stores[0], moderators=1, listeners=1)
    await stores[0].act(room_id, mod, Action.INVITE, ada)
    await stores[0].act(room_id, ada, Action.ACCEPT_INVITE)
    await asyncio.gather(
        stores[1].act(room_id, mod, Action.MUTE, ada),
        stores[2].act(room_id, "host", Action.MOVE_TO_AUDIENCE, ada),
        return_exceptions=True,
    )
    member = await stores[0].member(room_id, ada)
    assert member.role == "listener" and member.muted is False, "a listener is never left muted"
    assert await stores[0].redis.zscore(keys.audience(room_id), ada) is not None
