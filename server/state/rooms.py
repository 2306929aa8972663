"""RoomState in Redis: rooms, their members and roles, and the room event log.

Every transition is one Lua script, so a check and the change it guards happen atomically, and
each one appends to the room's log stream with the room's next sequence number.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from importlib import resources

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from server.identity import Identity
from server.rules.roles import Role, is_on_stage
from server.state import keys
from signaling.errors import DropinError, ErrorCode

LOG_MAXLEN = 10_000

_REFUSALS = {
    "room_not_found": (ErrorCode.ROOM_NOT_FOUND, "there is no such room"),
    "room_ended": (ErrorCode.ROOM_ENDED, "this room has ended"),
    "forbidden": (ErrorCode.FORBIDDEN, "only the room's host can do that"),
}


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    role: Role
    joined_at: float = 0.0

    def public(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "role": self.role.value}


@dataclass(frozen=True)
class Room:
    id: str
    title: str
    description: str
    host: Identity
    status: str
    created_at: float
    ended_at: float | None
    seq: int
    counts: dict[Role, int] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.status == "live"

    @property
    def listeners(self) -> int:
        return self.counts.get(Role.LISTENER, 0)

    @property
    def on_stage(self) -> int:
        return sum(n for role, n in self.counts.items() if is_on_stage(role))


@dataclass(frozen=True)
class Joined:
    member: Member
    seq: int
    is_new: bool


def _refusal(error: ResponseError) -> DropinError:
    code, message = _REFUSALS.get(str(error), (ErrorCode.INTERNAL, str(error)))
    return DropinError(code, message)


def _load_script(name: str) -> str:
    return resources.files("server.state").joinpath("lua", name).read_text()


class RoomStore:
    """Reads and changes rooms in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._create = redis.register_script(_load_script("create_room.lua"))
        self._join = redis.register_script(_load_script("join.lua"))
        self._leave = redis.register_script(_load_script("leave.lua"))
        self._end = redis.register_script(_load_script("end_room.lua"))

    async def _run(self, script, room_id: str, *args: object):
        try:
            return await script(keys=keys.room_keys(room_id), args=list(args))
        except ResponseError as error:
            raise _refusal(error) from None

    async def create(self, host: Identity, title: str, description: str = "") -> Room:
        room_id = secrets.token_urlsafe(8)
        await self._run(
            self._create, room_id, room_id, title, description, host.id, host.name, time.time(), LOG_MAXLEN
        )
        return await self.get(room_id)

    async def get(self, room_id: str) -> Room:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.room(room_id))
            pipe.hgetall(keys.counts(room_id))
            fields, counts = await pipe.execute()
        if not fields:
            raise DropinError(ErrorCode.ROOM_NOT_FOUND, "there is no such room")
        return Room(
            id=fields["id"],
            title=fields["title"],
            description=fields["description"],
            host=Identity(id=fields["host_id"], name=fields["host_name"]),
            status=fields["status"],
            created_at=float(fields["created_at"]),
            ended_at=float(fields["ended_at"]) if fields["ended_at"] else None,
            seq=int(fields["seq"]),
            counts={Role(role): int(n) for role, n in counts.items() if int(n) > 0},
        )

    async def live(self, limit: int = 200) -> list[Room]:
        """Live rooms, newest first."""
        room_ids = await self.redis.zrevrange(keys.LIVE_ROOMS, 0, limit - 1)
        rooms = []
        for room_id in room_ids:
            try:
                rooms.append(await self.get(room_id))
            except DropinError:
                continue
        return rooms

    async def join(self, room_id: str, identity: Identity) -> Joined:
        role, seq, is_new = await self._run(
            self._join, room_id, identity.id, identity.name, time.time(), LOG_MAXLEN
        )
        member = Member(id=identity.id, name=identity.name, role=Role(role))
        return Joined(member=member, seq=int(seq), is_new=bool(is_new))

    async def leave(self, room_id: str, member_id: str) -> tuple[Role, int] | None:
        result = await self._run(self._leave, room_id, member_id, LOG_MAXLEN)
        if result is None:
            return None
        role, seq = result
        return Role(role), int(seq)

    async def end(self, room_id: str, actor: Identity) -> int:
        return int(await self._run(self._end, room_id, actor.id, time.time(), LOG_MAXLEN))

    async def stage(self, room_id: str) -> list[Member]:
        """Members on stage, host first, then in the order they came on stage."""
        raw = [json.loads(value) for value in await self.redis.hvals(keys.stage(room_id))]
        on_stage = [Member(m["id"], m["name"], Role(m["role"]), m["joined_at"]) for m in raw]
        return sorted(on_stage, key=lambda m: (m.role is not Role.HOST, m.joined_at))
