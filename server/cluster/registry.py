"""The node registry: each node says in Redis that it is alive, what it serves and how loaded it
is, every HEARTBEAT_S; one not heard from for DEAD_AFTER_S is dead (LiveKit's figures).

Each node also keeps the set of members it seats (`keys.node_seats`). When a node finds another
dead, one atomic step takes the dead node out and, for each member it seated, schedules a
`reap_seat` after the reconnect grace: unless the node has come back meanwhile (it was cut off,
not dead) or the member has reconnected elsewhere, the member leaves, so counts are right.

A node that was itself cut off from Redis reaps nobody until the others have had time to say
they are alive again, and a node that finds it was taken for dead registers its seats again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from server.cluster.relay import RelayStats
from server.state import keys
from server.state.storage import TRANSIENT, every

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
DEAD_AFTER_S = 5.0

_REAP = """
-- KEYS: nodes, timers. ARGV: dead_before, now, reconnect_grace_s, key prefix.
-- Takes out every node last heard from before `dead_before`; returns their ids.
local reaped = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  redis.call('ZREM', KEYS[1], id)
  local seats = ARGV[4] .. ':node:' .. id .. ':seats'
  for _, seat in ipairs(redis.call('SMEMBERS', seats)) do
    redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]), 'reap_seat|' .. seat)
  end
  redis.call('DEL', seats, ARGV[4] .. ':node:' .. id)
  reaped[#reaped + 1] = id
end
return reaped
"""


Seated = tuple[str, str, str]  # room id, member id, connection id


def node_of(conn: str) -> str:
    """The node a connection id was given out by (`<node>.<n>`)."""
    return conn.split(".", 1)[0]


@dataclass(frozen=True)
class Node:
    id: str
    address: str
    relay: str
    pid: int
    started_at: float
    last_seen: float
    rooms: int
    members: int
    cpu: float  # the share of one core the node used over its last heartbeat
    relay_sent: int  # datagrams to other nodes, since the node started
    relay_received: int
    relay_rejected: int

    @property
    def alive(self) -> bool:
        return time.time() - self.last_seen <= DEAD_AFTER_S


class Registry:
    """This node's entry in Redis, kept fresh, and the watch for dead nodes."""

    def __init__(self, redis: Redis, node_id: str, address: str, seated: Callable[[], list[Seated]],
                 reconnect_grace_s: float) -> None:
        """`seated`: the members this node seats now."""
        self.node_id = node_id
        self._redis = redis
        self._address = address
        self._seated = seated
        self._reachable_since: float | None = None
        self._registered = False
        self.relay_address = ""  # host:port of the node's relay socket, once it is open
        self.relay_stats = RelayStats()  # the relay's figures, once it is open
        self._reconnect_grace_s = reconnect_grace_s
        self._started_at = time.time()
        self._reap = redis.register_script(_REAP)
        self._cpu_mark = (time.monotonic(), time.process_time())
        self._task: asyncio.Task[None] | None = None

    # Members seated here

    async def seated(self, room_id: str, member_id: str, conn: str) -> None:
        await self._redis.sadd(keys.node_seats(self.node_id), f"{room_id}|{member_id}|{conn}")

    async def unseated(self, room_id: str, member_id: str, conn: str) -> None:
        await self._redis.srem(keys.node_seats(self.node_id), f"{room_id}|{member_id}|{conn}")

    # The cluster

    async def nodes(self) -> list[Node]:
        """Every registered node, this one included, by id."""
        seen = cast(list[tuple[str, float]], await self._redis.zrange(keys.NODES, 0, -1, withscores=True))
        async with self._redis.pipeline(transaction=False) as pipe:
            for node_id, _ in seen:
                pipe.hgetall(keys.node(node_id))
            entries = cast(list[dict[str, str]], await pipe.execute())
        return sorted(
            (
                Node(id=node_id, address=entry["address"], relay=entry.get("relay", ""), pid=int(entry["pid"]),
                     started_at=float(entry["started_at"]), last_seen=last_seen, rooms=int(entry["rooms"]),
                     members=int(entry["members"]), cpu=float(entry["cpu"]),
                     relay_sent=int(entry.get("relay_sent", 0)), relay_received=int(entry.get("relay_received", 0)),
                     relay_rejected=int(entry.get("relay_rejected", 0)))
                for (node_id, last_seen), entry in zip(seen, entries) if entry
            ),
            key=lambda node: node.id,
        )

    async def alive(self, node_id: str) -> bool:
        last_seen = await self._redis.zscore(keys.NODES, node_id)
        return last_seen is not None and time.time() - last_seen <= DEAD_AFTER_S

    async def heartbeat(self) -> None:
        """Say this node is alive, with its load, and take out nodes that are not."""
        now = time.time()
        seated = self._seated()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.node(self.node_id), mapping={
                "id": self.node_id, "address": self._address, "relay": self.relay_address, "pid": os.getpid(),
                "started_at": self._started_at,
                "rooms": len({room_id for room_id, _, _ in seated}), "members": len(seated), "cpu": self._cpu(),
                "relay_sent": self.relay_stats.sent, "relay_received": self.relay_stats.received,
                "relay_rejected": self.relay_stats.rejected,
            })
            pipe.zadd(keys.NODES, {self.node_id: now})
            _, added = await pipe.execute()
        if added and self._registered:
            log.warning("node %s was taken for dead; registering its %d members again", self.node_id, len(seated))
            if seated:
                await self._redis.sadd(keys.node_seats(self.node_id), *("|".join(seat) for seat in seated))
        self._registered = True
        if self._reachable_since is None:
            self._reachable_since = now
        if now - self._reachable_since < DEAD_AFTER_S + HEARTBEAT_S:
            return  # just started, or back from an outage: the others may not have said they are alive yet
        reaped = cast(list[str], await self._reap(
            keys=[keys.NODES, keys.TIMERS], args=[now - DEAD_AFTER_S, now, self._reconnect_grace_s, keys.PREFIX]
        ))
        for node_id in reaped:
            log.warning("node %s is dead (not heard from for %.0f s); its members leave unless they come back",
                        node_id, DEAD_AFTER_S)

    def start(self) -> None:
        self._task = asyncio.create_task(every(HEARTBEAT_S, self._beat, "registry"), name="registry")

    async def stop(self, members_let_go: bool) -> None:
        """Leave the cluster. Unless the node's members have been let go (their leaves
        scheduled), its entry stays for another node to find it dead and let them go."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if not members_let_go:
            return
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrem(keys.NODES, self.node_id)
                pipe.delete(keys.node(self.node_id), keys.node_seats(self.node_id))
                await pipe.execute()
        except TRANSIENT:
            log.warning("node %s could not deregister; the others will find it dead", self.node_id)

    async def _beat(self) -> bool:
        try:
            await self.heartbeat()
        except TRANSIENT:
            self._reachable_since = None
            raise
        return False

    def _cpu(self) -> float:
        wall, cpu = time.monotonic(), time.process_time()
        (last_wall, last_cpu), self._cpu_mark = self._cpu_mark, (wall, cpu)
        return round((cpu - last_cpu) / max(wall - last_wall, 1e-6), 3)
