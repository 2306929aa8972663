"""One room over several nodes: each live room has one origin node, recorded in Redis, which runs
the room's slot assignment; every other node with members in the room is an edge of it.

An edge sends its speakers' packets to the origin once (its own Forwarder has checked their
role), asks the origin every second to keep sending the room (FOLLOW), and fans each slot
packet the origin sends out to its own members. The origin sends each slot packet once to each
node that follows the room, and tells them who is speaking and who holds which slot.

Placement (server/cluster/placement.py) says which node is a room's origin; a node chosen for a
room it has no members of opens the room when the first edge follows it. Every second each node
asks again for its rooms, so when an origin stops heartbeating the room moves and its audio comes
back on its own. An origin whose room has neither members nor followers any more lets it go.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import time
from collections.abc import Callable, Hashable

from aiortc.rtp import RtpPacket
from redis.asyncio import Redis

from server.cluster.placement import Placement
from server.cluster.registry import Registry
from server.cluster.relay import Address, Kind, Relay, pack_str, unpack_str
from server.media.forwarder import Forwarder
from server.media.router import MediaRouter
from server.state import keys
from server.state.storage import TRANSIENT, every

log = logging.getLogger(__name__)

FOLLOW_S = 1.0  # how often an edge asks its origin for the room (and checks the origin is alive)
FOLLOWER_TTL_S = 3.5  # an edge not heard from for this long no longer gets the room
IDLE_S = 5.0  # an origin with neither members (seated or connected) nor followers for this long lets the room go
SPEAKER = struct.Struct("!IHIBB")  # ssrc, sequence number, timestamp, flags, audio level (255: none)
SLOT = struct.Struct("!BHIB")  # slot, sequence number, timestamp, flags
NO_LEVEL = 255
MARKER, RED = 1, 2  # flags: the RTP marker bit; the payload is RED (its blocks Opus), not Opus


def _flags(marker: int, red: bool) -> int:
    return (MARKER if marker else 0) | (RED if red else 0)


def _address(text: str) -> Address | None:
    host, _, port = text.rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


class _Followers:
    """The origin's side of a room: the edges that follow it. Implements forwarder.Edges."""

    def __init__(self, relay: Relay, room_id: str) -> None:
        self.nodes: dict[Address, float] = {}  # edge's relay address -> when it last asked
        self.idle_since: float | None = None
        self._relay = relay
        self._room = pack_str(room_id)

    def slot_packet(self, index: int, seq: int, ts: int, marker: int, payload: bytes, red: bool) -> None:
        body = b"".join((self._room, SLOT.pack(index, seq, ts, _flags(marker, red)), payload))
        for node in self.nodes:
            self._relay.send(node, Kind.SLOT, body)

    def speakers(self, speaking: set[Hashable], holders: list[Hashable | None]) -> None:
        for node in self.nodes:
            self.tell(node, speaking, holders)

    def tell(self, node: Address, speaking: set[Hashable], holders: list[Hashable | None]) -> None:
        said = json.dumps({"speaking": sorted(map(str, speaking)),
                           "holders": [None if h is None else str(h) for h in holders]})
        self._relay.send(node, Kind.SPEAKERS, self._room + said.encode())


class _Origin:
    """The room's origin on another node, as this edge sends to it. Implements forwarder.Upstream."""

    def __init__(self, relay: Relay, room_id: str, origin: Address) -> None:
        self._relay = relay
        self._room = pack_str(room_id)
        self.address = origin

    def packet(self, member: Hashable, packet: RtpPacket, red: bool) -> None:
        level = packet.extensions.audio_level
        head = SPEAKER.pack(packet.ssrc, packet.sequence_number, packet.timestamp, _flags(packet.marker, red),
                            level[1] if level is not None else NO_LEVEL)
        body = b"".join((self._room, pack_str(str(member)), head, packet.payload))
        self._relay.send(self.address, Kind.SPEAKER, body)

    def stop(self, member: Hashable) -> None:
        self._relay.send(self.address, Kind.STOP, self._room + pack_str(str(member)))


class Cascade:
    """Links this node's rooms to their origins, and serves the rooms it is the origin of."""

    def __init__(
        self, redis: Redis, registry: Registry, router: MediaRouter, secret: str, seats_in: Callable[[str], int]
    ) -> None:
        """`seats_in(room)`: how many members this node seats in the room, media connected or not."""
        self._redis = redis
        self._registry = registry
        self._router = router
        self._seats_in = seats_in
        self.relay = Relay(secret, int(registry.node_id, 16), self._received)
        self._placement = Placement(redis, registry.node_id)
        self._adopting: set[asyncio.Task[None]] = set()
        self._origins: dict[str, Address | None] = {}  # room -> its origin's relay address; None: here
        self._followers: dict[str, _Followers] = {}  # rooms this node is the origin of
        self._task: asyncio.Task[None] | None = None

    async def start(self, host: str, port: int = 0) -> Address:
        address = await self.relay.open(host, port)
        self._task = asyncio.create_task(every(FOLLOW_S, self._tick, "cascade"), name="cascade")
        return address

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for task in list(self._adopting):
            task.cancel()
        for room_id in list(self._followers):
            await self._let_go(room_id)
        self.relay.close()

    async def place(self, room_id: str) -> None:
        """Find (or become) the origin of a room whose media this node has opened."""
        if room_id not in self._origins:
            await self._place(room_id, self._router.forwarder(room_id))

    async def close(self, room_id: str, ended: bool = False) -> None:
        """This node has no more members in the room (or it `ended`): stop following it. The
        origin of a room other nodes still follow goes on serving it until they stop."""
        followers = self._followers.get(room_id)
        if followers is not None and followers.nodes and not ended:
            return
        self._origins.pop(room_id, None)
        if followers is not None:
            await self._let_go(room_id)
        await self._router.close_room(room_id)

    # Placement

    async def _place(self, room_id: str, forwarder: Forwarder) -> None:
        found = await self._placement.claim(room_id)
        if found is None:
            return  # the room has ended; its feed will close it here
        origin_id, relay = found
        if origin_id == self._registry.node_id:
            if self._origins.get(room_id, ...) is not None:
                log.info("room %s: this node is its origin", room_id)
            self._origins[room_id] = None
            forwarder.upstream = None
            forwarder.edges = self._followers.setdefault(room_id, _Followers(self.relay, room_id))
            return
        origin = _address(relay)
        if origin is None:
            return  # the origin has not said where its relay is yet: try again next tick
        self._followers.pop(room_id, None)
        self._origins[room_id] = origin
        forwarder.edges = None
        forwarder.upstream = _Origin(self.relay, room_id, origin)
        self.relay.send(origin, Kind.FOLLOW, pack_str(room_id))

    async def _let_go(self, room_id: str) -> None:
        self._followers.pop(room_id, None)
        try:
            await self._placement.release(room_id)
        except TRANSIENT:
            pass  # its heartbeat will say the rest: the others claim the room once this node is gone

    async def _tick(self) -> bool:
        now = time.monotonic()
        for room_id, forwarder in self._router.rooms().items():
            followers = self._followers.get(room_id)
            if followers is not None:
                followers.nodes = {node: at for node, at in followers.nodes.items() if now - at < FOLLOWER_TTL_S}
                if followers.nodes or forwarder.members() or self._seats_in(room_id):
                    followers.idle_since = None
                elif followers.idle_since is None:
                    followers.idle_since = now
                elif now - followers.idle_since > IDLE_S:
                    await self.close(room_id)
                    continue
            await self._place(room_id, forwarder)
        return False

    async def _adopt(self, room_id: str, edge: Address) -> None:
        """Open a room this node was placed as the origin of, for the edge that follows it."""
        try:
            slots = await self._redis.hget(keys.room(room_id), "slots")
            if room_id in self._router.rooms() or not slots or not await self._placement.is_origin(room_id):
                return
        except TRANSIENT:
            return  # the edge asks again in a second
        forwarder = self._router.open_room(room_id, int(slots))
        followers = self._followers.setdefault(room_id, _Followers(self.relay, room_id))
        self._origins[room_id] = None
        forwarder.upstream, forwarder.edges = None, followers
        followers.nodes[edge] = time.monotonic()
        followers.tell(edge, forwarder.speaking(), forwarder.assignment())
        log.info("room %s: this node was placed as its origin", room_id)

    # Packets


    def _received(self, kind: Kind, body: bytes, sender: Address) -> None:
        room_id, at = unpack_str(body, 0)
        forwarder = self._router.rooms().get(room_id)
        if forwarder is None:
            if kind is Kind.FOLLOW:  # this node may have been placed as the origin of a room it has no members of
                task = asyncio.create_task(self._adopt(room_id, sender))
                self._adopting.add(task)
                task.add_done_callback(self._adopting.discard)
            return
        if kind is Kind.FOLLOW:
            followers = self._followers.get(room_id)
            if followers is not None:
                if sender not in followers.nodes:
                    followers.tell(sender, forwarder.speaking(), forwarder.assignment())
                followers.nodes[sender] = time.monotonic()
        elif kind in (Kind.SPEAKER, Kind.STOP):
            if room_id in self._followers:
                member, at = unpack_str(body, at)
                if kind is Kind.STOP:
                    forwarder.allow(member, False)
                    return
                ssrc, seq, ts, flags, level = SPEAKER.unpack_from(body, at)
                forwarder.take(member, None if level == NO_LEVEL else level, ssrc, seq, ts, flags & MARKER,
                               body[at + SPEAKER.size:], bool(flags & RED))
        elif self._origins.get(room_id) == sender:  # from this room's origin
            if kind is Kind.SLOT:
                index, seq, ts, flags = SLOT.unpack_from(body, at)
                forwarder.deliver(index, seq, ts, flags & MARKER, body[at + SLOT.size:], bool(flags & RED))
            elif kind is Kind.SPEAKERS:
                said = json.loads(body[at:])
                forwarder.mirror(set(said["speaking"]), said["holders"])
