"""Clubs in Redis: a name, a description, public or private, hosts and members.

A club's members are `keys.club_members` (identity id -> display name; hosts are members too),
which the room scripts read to let members into club-only rooms. Anyone may follow a public
club; a private one is joined through an invite link (server/state/invites.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from server.domain.ids import new_id
from server.domain.room import Identity
from server.state import keys
from vocabulary.errors import DropinError, ErrorCode

LIST_LIMIT = 200


@dataclass(frozen=True)
class Club:
    id: str
    name: str
    description: str
    visibility: str
    created_by: str
    created_at: float
    hosts: tuple[Identity, ...]
    member_count: int

    @property
    def public(self) -> bool:
        return self.visibility == "public"


@dataclass(frozen=True)
class Membership:
    member: bool
    host: bool


class ClubStore:
    """Reads and changes clubs in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def create(self, creator: Identity, name: str, description: str, visibility: str) -> Club:
        """A new club; its creator is its first host and member."""
        club_id = new_id()
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.club(club_id), mapping={
                "id": club_id, "name": name, "description": description, "visibility": visibility,
                "created_by": creator.id, "created_at": now,
            })
            pipe.hset(keys.club_members(club_id), creator.id, creator.name)
            pipe.sadd(keys.club_hosts(club_id), creator.id)
            pipe.sadd(keys.identity_clubs(creator.id), club_id)
            if visibility == "public":
                pipe.zadd(keys.PUBLIC_CLUBS, {club_id: now})
            await pipe.execute()
        return await self.get(club_id)

    async def get(self, club_id: str) -> Club:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.club(club_id))
            pipe.smembers(keys.club_hosts(club_id))
            pipe.hlen(keys.club_members(club_id))
            fields, host_ids, member_count = await pipe.execute()
        if not fields:
            raise DropinError(ErrorCode.CLUB_NOT_FOUND, "there is no such club")
        host_ids = sorted(host_ids)
        # The clients decode replies (decode_responses=True, storage.py): names are str, or None.
        names = cast(list[str | None], await self.redis.hmget(keys.club_members(club_id), host_ids) if host_ids else [])
        return Club(
            id=fields["id"],
            name=fields["name"],
            description=fields["description"],
            visibility=fields["visibility"],
            created_by=fields["created_by"],
            created_at=float(fields["created_at"]),
            hosts=tuple(Identity(id, name or "") for id, name in zip(host_ids, names)),
            member_count=member_count,
        )

    async def listing(self, identity_id: str | None) -> list[Club]:
        """Public clubs and the clubs `identity_id` belongs to, newest first."""
        # Decoded replies (decode_responses=True, storage.py), and no scores asked for: club ids are str.
        ids = set(cast(list[str], await self.redis.zrevrange(keys.PUBLIC_CLUBS, 0, LIST_LIMIT - 1)))
        if identity_id is not None:
            ids |= cast(set[str], await self.redis.smembers(keys.identity_clubs(identity_id)))
        clubs = []
        for club_id in ids:
            try:
                clubs.append(await self.get(club_id))
            except DropinError:
                continue
        return sorted(clubs, key=lambda club: -club.created_at)

    async def membership(self, club_id: str, identity_id: str | None) -> Membership:
        if identity_id is None:
            return Membership(member=False, host=False)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hexists(keys.club_members(club_id), identity_id)
            pipe.sismember(keys.club_hosts(club_id), identity_id)
            member, host = await pipe.execute()
        return Membership(member=bool(member), host=bool(host))

    async def visible(self, club_id: str, viewer_id: str | None) -> tuple[Club, Membership]:
        """The club and the viewer's place in it; a private club is `club_not_found` to outsiders."""
        club = await self.get(club_id)
        membership = await self.membership(club_id, viewer_id)
        if not club.public and not membership.member:
            raise DropinError(ErrorCode.CLUB_NOT_FOUND, "there is no such club")
        return club, membership

    async def member_names(self, club_id: str, identity_ids: list[str]) -> dict[str, str]:
        """The display names of those of `identity_ids` who are members."""
        if not identity_ids:
            return {}
        # Decoded replies (decode_responses=True, storage.py): names are str, or None.
        names = cast(list[str | None], await self.redis.hmget(keys.club_members(club_id), identity_ids))
        return {id: name for id, name in zip(identity_ids, names) if name is not None}

    async def follow(self, club_id: str, identity: Identity) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.club_members(club_id), identity.id, identity.name)
            pipe.sadd(keys.identity_clubs(identity.id), club_id)
            await pipe.execute()

    async def unfollow(self, club_id: str, identity_id: str) -> None:
        """Stop being a member (and a host); a club's only host can't leave it."""

        async def leave(pipe: Pipeline) -> None:
            hosts = await pipe.smembers(keys.club_hosts(club_id))
            if hosts == {identity_id}:
                raise DropinError(ErrorCode.FORBIDDEN, "you are the club's only host; make someone else a host first")
            pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.multi unannotated
            pipe.hdel(keys.club_members(club_id), identity_id)
            pipe.srem(keys.club_hosts(club_id), identity_id)
            pipe.srem(keys.identity_clubs(identity_id), club_id)

        await self.redis.transaction(leave, keys.club_hosts(club_id))

    async def add_host(self, club_id: str, identity_id: str) -> None:
        """Make a member a host."""

        async def promote(pipe: Pipeline) -> None:
            if not await pipe.hexists(keys.club_members(club_id), identity_id):
                raise DropinError(ErrorCode.INVALID_MESSAGE, "only a member of the club can be made a host")
            pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.multi unannotated
            pipe.sadd(keys.club_hosts(club_id), identity_id)

        await self.redis.transaction(promote, keys.club_members(club_id))
