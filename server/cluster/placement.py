"""Where a room's origin runs, recorded in the room's hash (`origin`) and changed atomically.

A node that opens a room's media asks `claim`: a live origin stays; otherwise (none yet, or its
node stopped heartbeating) the room goes to the asking node, unless another live node is less
loaded by more than LOAD_MARGIN of a core, which then gets it. So a small room stays where its
members are, and a new room avoids a busy node; a node that finds its origin dead claims the
room the same way.
"""

from __future__ import annotations

import time
from typing import cast

from redis.asyncio import Redis

from server.cluster.registry import DEAD_AFTER_S
from server.state import keys

LOAD_MARGIN = 0.25  # of one core

_CLAIM = """
-- KEYS: room hash, nodes. ARGV: asking node's id, now, dead_after_s, key prefix, load margin.
-- Returns {origin id, its relay address}, or false if the room is not live.
if redis.call('HGET', KEYS[1], 'status') ~= 'live' then return false end
local now, dead_after, prefix = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local function relay_of(id) return redis.call('HGET', prefix .. ':node:' .. id, 'relay') or '' end
local function load_of(id) return tonumber(redis.call('HGET', prefix .. ':node:' .. id, 'cpu') or '') end
local origin = redis.call('HGET', KEYS[1], 'origin')
if origin then
  local seen = redis.call('ZSCORE', KEYS[2], origin)
  if origin == ARGV[1] or (seen and tonumber(seen) >= now - dead_after) then
    return {origin, relay_of(origin)}
  end
end
local chosen, least = ARGV[1], (load_of(ARGV[1]) or 0) - tonumber(ARGV[5])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], now - dead_after, '+inf')) do
  local load = load_of(id)
  if id ~= ARGV[1] and load and load < least and relay_of(id) ~= '' then chosen, least = id, load end
end
redis.call('HSET', KEYS[1], 'origin', chosen)
return {chosen, relay_of(chosen)}
"""

_RELEASE = """
-- KEYS: room hash. ARGV: node id. Lets the room go if that node is its origin.
if redis.call('HGET', KEYS[1], 'origin') == ARGV[1] then redis.call('HDEL', KEYS[1], 'origin') end
return 0
"""


class Placement:
    def __init__(self, redis: Redis, node_id: str) -> None:
        self.node_id = node_id
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)

    async def claim(self, room_id: str) -> tuple[str, str] | None:
        """The room's origin and its relay address ("" for this node), choosing one if it has
        none alive; None if the room is not live."""
        found = await self._claim(
            keys=[keys.room(room_id), keys.NODES],
            args=[self.node_id, time.time(), DEAD_AFTER_S, keys.PREFIX, LOAD_MARGIN],
        )
        if not found:
            return None
        origin, relay = cast(list[str], found)
        return origin, relay

    async def is_origin(self, room_id: str) -> bool:
        return await self._redis.hget(keys.room(room_id), "origin") == self.node_id

    async def release(self, room_id: str) -> None:
        """Let the room go, if this node is its origin (another node claims it)."""
        await self._release(keys=[keys.room(room_id)], args=[self.node_id])
