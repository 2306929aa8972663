"""Where a room's origin runs: a live origin stays; otherwise the node asking, unless another
live node is clearly less loaded; a dead origin's room goes to the next node that asks."""

from __future__ import annotations

import time

import pytest
from redis.asyncio import Redis

from server.cluster.placement import LOAD_MARGIN, Placement
from server.domain.room import Identity
from server.state import keys
from server.state.rooms import RoomStore


async def node(
    redis: Redis, node_id: str, cpu: float, seen_s_ago: float = 0.0, relay: str = "127.0.0.1:1"
) -> Placement:
    """A node as the registry has it: heartbeat and entry."""
    await redis.zadd(keys.NODES, {node_id: time.time() - seen_s_ago})
    await redis.hset(keys.node(node_id), mapping={"id": node_id, "cpu": cpu, "relay": relay})
    return Placement(redis, node_id)


@pytest.fixture
async def room_id(redis: Redis) -> str:
    return (await RoomStore(redis, host_grace_s=60).create(Identity("h", "Host"), "Placed")).id


async def test_a_room_starts_where_it_is_opened_unless_that_node_is_much_busier(redis: Redis, room_id: str) -> None:
    busy = await node(redis, "busy", cpu=0.2 + LOAD_MARGIN + 0.1)
    await node(redis, "idle", cpu=0.2)
    assert await busy.claim(room_id) == ("idle", "127.0.0.1:1")
    assert await redis.hget(keys.room(room_id), "origin") == "idle"


async def test_a_little_busier_node_keeps_its_room(redis: Redis, room_id: str) -> None:
    asking = await node(redis, "a", cpu=0.3)
    await node(redis, "b", cpu=0.3 - LOAD_MARGIN / 2)
    assert await asking.claim(room_id) == ("a", "127.0.0.1:1")


async def test_a_live_origin_stays_and_a_dead_one_is_replaced(redis: Redis, room_id: str) -> None:
    first, second = await node(redis, "first", cpu=0.9), await node(redis, "second", cpu=0.0)
    await redis.hset(keys.room(room_id), "origin", "first")
    assert await second.claim(room_id) == ("first", "127.0.0.1:1")
    await node(redis, "first", cpu=0.9, seen_s_ago=6)  # stopped heartbeating
    assert await second.claim(room_id) == ("second", "127.0.0.1:1")
    assert await first.claim(room_id) == ("second", "127.0.0.1:1")


async def test_a_node_without_a_relay_is_not_chosen(redis: Redis, room_id: str) -> None:
    busy = await node(redis, "busy", cpu=0.9)
    await node(redis, "starting", cpu=0.0, relay="")
    assert (await busy.claim(room_id))[0] == "busy"


async def test_only_the_origin_lets_a_room_go_and_an_ended_room_has_none(redis: Redis, room_id: str) -> None:
    owner, other = await node(redis, "owner", cpu=0.1), await node(redis, "other", cpu=0.1)
    await owner.claim(room_id)
    await other.release(room_id)
    assert await owner.is_origin(room_id)
    await owner.release(room_id)
    assert await redis.hget(keys.room(room_id), "origin") is None
    await RoomStore(redis, host_grace_s=60).end(room_id, Identity("h", "Host"))
    assert await other.claim(room_id) is None
