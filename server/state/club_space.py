"""A club's discussion space in Redis: posts and their replies, pinned posts, muted members,
topic proposals with their upvotes, and the stream of the space's changes.

Every change is one script (server/state/lua/space_act.lua, after space.lua) that checks what it
must (membership, a mute, the rate limit, who may delete or pin), writes, and appends one entry
to the club's change stream in the same step; a refusal writes nothing. A room of the club
posts its round-up from end_room.lua with the same helper, so it is posted exactly once, in the
step that ends the room. The keys are server/state/keys.py's `space_*`.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from server.domain.room import Identity
from server.state import keys
from server.state.webhooks import lua_source
from vocabulary.errors import DropinError, ErrorCode

POST_MAX = 2000
REPLY_MAX = 1000
PROPOSAL_MAX = 200  # a proposal becomes a theme, which is at most as long
PAGE = 20
PAGE_MAX = 50
REPLIES_SHOWN = 50  # the latest of each post's replies
PINNED_SHOWN = 20
PROPOSALS_SHOWN = 50
OPEN_READ = 200  # open proposals read, most upvoted first, to order by votes and then by age
WRITE_WINDOW_S = 60.0
PROPOSE_WINDOW_S = 3600.0

_REFUSALS = {
    "not_member": (ErrorCode.FORBIDDEN, "only the club's members can do that; follow the club first"),
    "muted": (ErrorCode.FORBIDDEN, "a host has muted you in this club's space: you can read it, not write in it"),
    "post_not_found": (ErrorCode.NOT_FOUND, "there is no such post in this club"),
    "reply_not_found": (ErrorCode.NOT_FOUND, "there is no such reply to that post"),
    "proposal_not_found": (ErrorCode.NOT_FOUND, "there is no such proposal in this club"),
    "member_not_found": (ErrorCode.NOT_FOUND, "that person isn't a member of this club"),
    "not_yours": (ErrorCode.FORBIDDEN, "only its author or a club host can delete that"),
    "hosts_only": (ErrorCode.FORBIDDEN, "only the club's hosts can do that"),
    "mute_host": (ErrorCode.FORBIDDEN, "a club host can't be muted"),
    "proposal_adopted": (ErrorCode.INVALID_MESSAGE, "that proposal is already a theme; votes are for open proposals"),
}
_WRITTEN = {"write": "posts and replies", "propose": "proposals"}


@dataclass(frozen=True)
class Reply:
    id: str
    post_id: str
    by: Identity
    text: str
    at: float


@dataclass(frozen=True)
class RoundupFacts:
    """What a round-up post says about the room that ended."""

    id: str
    title: str
    event_id: str
    occurrence: str
    started_at: float
    ended_at: float
    peak_listeners: int
    listeners: int
    speakers: int
    questions: int
    chat_messages: int


@dataclass(frozen=True)
class Post:
    id: str
    kind: str  # 'post' or 'roundup'
    by: Identity | None  # None: the club's own round-up post
    text: str
    at: float
    pinned: bool
    room: RoundupFacts | None
    replies: tuple[Reply, ...]  # the latest REPLIES_SHOWN, oldest first
    reply_count: int

    @property
    def number(self) -> int:
        return int(self.id[1:])


@dataclass(frozen=True)
class Adoption:
    event_id: str
    date: str
    title: str
    by: Identity
    at: float


@dataclass(frozen=True)
class Proposal:
    id: str
    by: Identity
    text: str
    at: float
    votes: int
    you_voted: bool
    adopted: Adoption | None


@dataclass(frozen=True)
class Mute:
    member: Identity
    by: Identity
    at: float


@dataclass(frozen=True)
class Page:
    pinned: list[Post]
    posts: list[Post]  # newest first, the pinned ones left out
    next_before: int | None  # the `before` of the next page back, or None at the first post


@dataclass(frozen=True)
class RateLimits:
    writes_per_minute: int  # posts and replies, per member and club
    proposals_per_hour: int


def _who(raw: dict[str, str]) -> Identity:
    return Identity(raw["id"], raw["name"])


def _reply(raw: str) -> Reply:
    stored = json.loads(raw)
    return Reply(stored["id"], stored["post"], _who(stored["by"]), stored["text"], float(stored["at"]))


def _facts(room: dict[str, Any]) -> RoundupFacts:
    return RoundupFacts(**{**room, "started_at": float(room["started_at"]), "ended_at": float(room["ended_at"])})


def _refused(error: ResponseError) -> DropinError:
    text = str(error)
    if text.startswith("rate_limited:"):
        _, kind, wait = text.split(":", 2)
        seconds = max(1, math.ceil(float(wait)))
        when = f"{seconds} s" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"
        return DropinError(ErrorCode.RATE_LIMITED, f"too many {_WRITTEN[kind]} for now: you can write again in {when}")
    code, message = _REFUSALS.get(text, (ErrorCode.INTERNAL, text))
    return DropinError(code, message)


class ClubSpaceStore:
    """Reads and changes clubs' discussion spaces in Redis."""

    def __init__(self, redis: Redis, limits: RateLimits) -> None:
        self.redis = redis
        self.limits = limits
        self._act = redis.register_script(lua_source("space.lua", "space_act.lua"))

    async def _run(self, club_id: str, action: str, actor: Identity, subject: str = "", detail: str = "",
                   limit: int = 0, window_s: float = 0) -> str:
        try:
            result = await self._act(keys=[keys.club(club_id)], args=[
                action, club_id, actor.id, actor.name, time.time(), subject, detail, limit, window_s,
            ])
        except ResponseError as error:
            raise _refused(error) from None
        return cast(str, result)

    # Posts and replies

    async def post(self, club_id: str, author: Identity, text: str) -> str:
        return await self._run(club_id, "post", author, detail=text, limit=self.limits.writes_per_minute,
                               window_s=WRITE_WINDOW_S)

    async def reply(self, club_id: str, post_id: str, author: Identity, text: str) -> str:
        return await self._run(club_id, "reply", author, post_id, text, self.limits.writes_per_minute, WRITE_WINDOW_S)

    async def delete_post(self, club_id: str, post_id: str, caller: Identity) -> None:
        await self._run(club_id, "delete_post", caller, post_id)

    async def delete_reply(self, club_id: str, post_id: str, reply_id: str, caller: Identity) -> None:
        await self._run(club_id, "delete_reply", caller, reply_id, post_id)

    async def pin(self, club_id: str, post_id: str, caller: Identity, pinned: bool) -> None:
        await self._run(club_id, "pin" if pinned else "unpin", caller, post_id)

    async def get_post(self, club_id: str, post_id: str) -> Post:
        found = await self._posts(club_id, [post_id])
        if not found:
            raise DropinError(ErrorCode.NOT_FOUND, "there is no such post in this club")
        return found[0]

    async def reply_of(self, club_id: str, reply_id: str) -> Reply:
        raw = cast(str | None, await self.redis.hget(keys.space_replies(club_id), reply_id))
        if raw is None:
            raise DropinError(ErrorCode.NOT_FOUND, "there is no such reply to that post")
        return _reply(raw)

    async def page(self, club_id: str, before: int | None, limit: int) -> Page:
        """Posts numbered below `before` (all, without it), newest first, `limit` at most, and the
        pinned posts, most recently pinned first."""
        pinned_ids = cast(list[str], await self.redis.zrevrange(keys.space_pinned(club_id), 0, PINNED_SHOWN - 1))
        top = f"({before}" if before is not None else "+inf"
        found = cast(list[tuple[str, float]], await self.redis.zrevrangebyscore(
            keys.space_timeline(club_id), top, "-inf", start=0, num=limit, withscores=True,
        ))
        ids = [post_id for post_id, _ in found if post_id not in pinned_ids]
        posts = await self._posts(club_id, pinned_ids + ids, pinned=set(pinned_ids))
        next_before = int(found[-1][1]) if len(found) == limit and found[-1][1] > 1 else None
        return Page(pinned=posts[:len(pinned_ids)], posts=posts[len(pinned_ids):], next_before=next_before)

    async def _posts(self, club_id: str, ids: list[str], pinned: set[str] | None = None) -> list[Post]:
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.space_posts(club_id), ids)
            for post_id in ids:
                pipe.zrevrange(keys.space_post_replies(club_id, post_id), 0, REPLIES_SHOWN - 1)
                pipe.zcard(keys.space_post_replies(club_id, post_id))
                if pinned is None:
                    pipe.zscore(keys.space_pinned(club_id), post_id)
            found = await pipe.execute()
        raws, rest = cast(list[str | None], found[0]), found[1:]
        step = 2 if pinned is not None else 3
        reply_ids = [reply_id for n in range(len(ids)) for reply_id in rest[n * step]]
        replies: dict[str, Reply] = {}
        if reply_ids:
            for raw in cast(list[str | None], await self.redis.hmget(keys.space_replies(club_id), reply_ids)):
                if raw is not None:
                    reply = _reply(raw)
                    replies[reply.id] = reply
        posts = []
        for n, (post_id, raw) in enumerate(zip(ids, raws)):
            if raw is None:
                continue  # deleted meanwhile
            stored: dict[str, Any] = json.loads(raw)
            is_pinned = post_id in pinned if pinned is not None else rest[n * step + 2] is not None
            shown = [replies[r] for r in reversed(rest[n * step]) if r in replies]
            room = stored.get("room")
            posts.append(Post(
                id=post_id, kind=stored["kind"], by=_who(stored["by"]) if stored.get("by") else None,
                text=stored["text"], at=float(stored["at"]), pinned=is_pinned,
                room=_facts(room) if room else None,
                replies=tuple(shown), reply_count=int(rest[n * step + 1]),
            ))
        return posts

    # Mutes

    async def mute(self, club_id: str, member_id: str, caller: Identity, muted: bool) -> None:
        await self._run(club_id, "mute" if muted else "unmute", caller, member_id)

    async def mutes(self, club_id: str) -> list[Mute]:
        raws = cast(dict[str, str], await self.redis.hgetall(keys.space_mutes(club_id)))
        mutes = []
        for raw in raws.values():
            stored = json.loads(raw)
            mutes.append(Mute(Identity(stored["id"], stored["name"]), _who(stored["by"]), float(stored["at"])))
        return sorted(mutes, key=lambda mute: mute.member.name.casefold())

    async def muted(self, club_id: str, identity_id: str) -> bool:
        return bool(await self.redis.hexists(keys.space_mutes(club_id), identity_id))

    # Proposals

    async def propose(self, club_id: str, author: Identity, text: str) -> str:
        return await self._run(club_id, "propose", author, detail=text, limit=self.limits.proposals_per_hour,
                               window_s=PROPOSE_WINDOW_S)

    async def vote(self, club_id: str, proposal_id: str, voter: Identity, up: bool) -> None:
        await self._run(club_id, "vote" if up else "unvote", voter, proposal_id)

    async def adopt(
        self, club_id: str, proposal_id: str, caller: Identity, event_id: str, day: str, title: str
    ) -> None:
        detail = json.dumps({"event_id": event_id, "date": day, "title": title})
        await self._run(club_id, "adopt", caller, proposal_id, detail)

    async def delete_proposal(self, club_id: str, proposal_id: str, caller: Identity) -> None:
        await self._run(club_id, "delete_proposal", caller, proposal_id)

    async def proposal(self, club_id: str, proposal_id: str, viewer_id: str | None) -> Proposal:
        found = await self._proposals(club_id, [proposal_id], viewer_id)
        if not found:
            raise DropinError(ErrorCode.NOT_FOUND, "there is no such proposal in this club")
        return found[0]

    async def proposals(self, club_id: str, viewer_id: str | None) -> tuple[list[Proposal], list[Proposal]]:
        """The open proposals, most upvoted first (the newer first among equals), and the adopted
        ones, most recently adopted first."""
        open_ids = cast(list[str], await self.redis.zrevrange(keys.space_open_proposals(club_id), 0, OPEN_READ - 1))
        adopted_ids = cast(list[str], await self.redis.zrevrange(keys.space_adopted(club_id), 0, PROPOSALS_SHOWN - 1))
        found = await self._proposals(club_id, open_ids + adopted_ids, viewer_id)
        open_ = sorted((p for p in found if p.adopted is None), key=lambda p: (-p.votes, -int(p.id[1:])))
        return open_[:PROPOSALS_SHOWN], [p for p in found if p.adopted is not None]

    async def _proposals(self, club_id: str, ids: list[str], viewer_id: str | None) -> list[Proposal]:
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.space_proposals(club_id), ids)
            for proposal_id in ids:
                pipe.sismember(keys.space_votes(club_id, proposal_id), viewer_id or "")
            found = await pipe.execute()
        proposals = []
        for raw, voted in zip(cast(list[str | None], found[0]), found[1:]):
            if raw is None:
                continue
            stored = json.loads(raw)
            adopted = stored.get("adopted")
            proposals.append(Proposal(
                id=stored["id"], by=_who(stored["by"]), text=stored["text"], at=float(stored["at"]),
                votes=int(stored["votes"]), you_voted=bool(voted) and viewer_id is not None,
                adopted=Adoption(adopted["event_id"], adopted["date"], adopted["title"], _who(adopted["by"]),
                                 float(adopted["at"])) if adopted else None,
            ))
        return proposals

    # The stream of changes

    async def last_change(self, club_id: str) -> str:
        """The id of the space's latest change ('0-0' before the first)."""
        found = cast(list[tuple[str, dict[str, str]]], await self.redis.xrevrange(keys.space_changes(club_id), count=1))
        return found[0][0] if found else "0-0"

    async def changes_after(
        self, club_id: str, after: str, count: int = 100
    ) -> list[tuple[str, dict[str, Any]]] | None:
        """The changes after the one with id `after`, oldest first (`count` at most); None when the
        stream no longer reaches back to it (it keeps the latest ~500)."""
        stream = keys.space_changes(club_id)
        found = cast(list[tuple[str, dict[str, str]]], await self.redis.xrange(stream, f"({after}", "+", count=count))
        if after != "0-0":
            first = cast(list[tuple[str, dict[str, str]]], await self.redis.xrange(stream, count=1))
            if first and _older(after, first[0][0]):
                return None  # what came between may have been trimmed
        return [(entry_id, json.loads(fields["change"])) for entry_id, fields in found]


def _older(a: str, b: str) -> bool:
    """Whether stream id `a` comes before `b`."""
    ms_a, _, seq_a = a.partition("-")
    ms_b, _, seq_b = b.partition("-")
    return (int(ms_a), int(seq_a or 0)) < (int(ms_b), int(seq_b or 0))
