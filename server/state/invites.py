"""Invite links in Redis: an unguessable token that lets its holder into an event's rooms (and,
if the link says so, into its club, private or not), until it expires, is revoked or used up.

Accepting is one Lua script, so concurrent accepts never use a link more than `max_uses` times,
and accepting twice uses it once.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from server.domain.ids import new_id
from server.domain.room import Identity
from server.state import keys
from vocabulary.errors import DropinError, ErrorCode

ACCEPT = """
-- KEYS: invite_link, invite_link_accepted, event_guests, club_members (or the never-written
-- NONE), identity_clubs. ARGV: identity id, name, now, club id. Returns 1 if the club was followed.
local link = redis.call('HMGET', KEYS[1], 'revoked', 'expires_at', 'max_uses', 'uses', 'follow_club')
if not link[1] then return redis.error_reply('invite_not_found') end
if link[1] == '1' then return redis.error_reply('invite_revoked') end
if tonumber(ARGV[3]) >= tonumber(link[2]) then return redis.error_reply('invite_expired') end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then
  if tonumber(link[4]) >= tonumber(link[3]) then return redis.error_reply('invite_used_up') end
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'uses', 1)
end
redis.call('SADD', KEYS[3], ARGV[1])
if link[5] ~= '1' then return 0 end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[5], ARGV[4])
return 1
"""

_REFUSALS = {
    "invite_not_found": (ErrorCode.INVITE_NOT_FOUND, "there is no such invite"),
    "invite_revoked": (ErrorCode.INVITE_REVOKED, "this invite was withdrawn by its host"),
    "invite_expired": (ErrorCode.INVITE_EXPIRED, "this invite has expired; ask the host for a new one"),
    "invite_used_up": (ErrorCode.INVITE_USED_UP, "this invite has been used as many times as it allows"),
}


@dataclass(frozen=True)
class InviteLink:
    id: str
    token: str
    event_id: str
    club_id: str | None
    created_by: str
    created_at: float
    expires_at: float
    max_uses: int
    uses: int
    revoked: bool
    follow_club: bool

    def refusal(self, now: float) -> str | None:
        """Why the link can't be accepted now (`revoked`, `expired`, `used_up`), or None."""
        if self.revoked:
            return "revoked"
        if now >= self.expires_at:
            return "expired"
        if self.uses >= self.max_uses:
            return "used_up"
        return None


def _link(fields: dict[str, str]) -> InviteLink:
    return InviteLink(
        id=fields["id"],
        token=fields["token"],
        event_id=fields["event_id"],
        club_id=fields["club_id"] or None,
        created_by=fields["created_by"],
        created_at=float(fields["created_at"]),
        expires_at=float(fields["expires_at"]),
        max_uses=int(fields["max_uses"]),
        uses=int(fields["uses"]),
        revoked=fields["revoked"] == "1",
        follow_club=fields["follow_club"] == "1",
    )


class InviteStore:
    """Reads, creates, revokes and accepts invite links in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._accept = redis.register_script(ACCEPT)

    async def create(
        self, event_id: str, club_id: str | None, created_by: str, expires_at: float, max_uses: int, follow_club: bool
    ) -> InviteLink:
        invite_id, token, now = new_id(), secrets.token_urlsafe(24), time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.invite_link(invite_id), mapping={
                "id": invite_id, "token": token, "event_id": event_id, "club_id": club_id or "",
                "created_by": created_by, "created_at": now, "expires_at": expires_at,
                "max_uses": max_uses, "uses": 0, "revoked": 0, "follow_club": int(follow_club and bool(club_id)),
            })
            pipe.set(keys.invite_link_token(token), invite_id)
            pipe.zadd(keys.event_invite_links(event_id), {invite_id: now})
            await pipe.execute()
        return await self.get(invite_id)

    async def get(self, invite_id: str) -> InviteLink:
        # The clients decode replies (decode_responses=True, storage.py): fields and values are str.
        fields = cast(dict[str, str], await self.redis.hgetall(keys.invite_link(invite_id)))
        if not fields:
            raise DropinError(ErrorCode.INVITE_NOT_FOUND, "there is no such invite")
        return _link(fields)

    async def by_token(self, token: str) -> InviteLink:
        invite_id = cast(str | None, await self.redis.get(keys.invite_link_token(token)))  # decoded reply
        if invite_id is None:
            raise DropinError(ErrorCode.INVITE_NOT_FOUND, "there is no such invite")
        return await self.get(invite_id)

    async def of_event(self, event_id: str) -> list[InviteLink]:
        """The event's links, newest first."""
        # Decoded replies (decode_responses=True, storage.py), and no scores asked for: ids are str.
        invite_ids = cast(list[str], await self.redis.zrevrange(keys.event_invite_links(event_id), 0, -1))
        links = []
        for invite_id in invite_ids:
            links.append(await self.get(invite_id))
        return links

    async def revoke(self, invite_id: str) -> InviteLink:
        await self.redis.hset(keys.invite_link(invite_id), "revoked", 1)
        return await self.get(invite_id)

    async def accept(self, link: InviteLink, identity: Identity) -> bool:
        """Let `identity` into the link's event (and club, if it says so); True if they followed the club."""
        try:
            followed = await self._accept(
                keys=[
                    keys.invite_link(link.id), keys.invite_link_accepted(link.id), keys.event_guests(link.event_id),
                    keys.club_members(link.club_id) if link.club_id else keys.NONE, keys.identity_clubs(identity.id),
                ],
                args=[identity.id, identity.name, time.time(), link.club_id or ""],
            )
        except ResponseError as error:
            code, message = _REFUSALS.get(str(error), (ErrorCode.INTERNAL, str(error)))
            raise DropinError(code, message) from None
        return bool(followed)
