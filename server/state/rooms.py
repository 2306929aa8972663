"""RoomState in Redis: rooms, members and roles, the hand queue, invitations, bans, the event log,
and each member's connection quality as last announced.

Every transition is one Lua script (server/state/lua/), so the checks and the change they guard
happen atomically, and each change appends an event to the room's log under the room's next
sequence number. Who may do what is decided by the pure permission matrix
(server/rules/permissions.py) on the roles read just before; the script refuses with `conflict`
if either role changed in between, and the action is decided again on fresh state.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple, cast

from pydantic import TypeAdapter
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from server.domain.events import Quality, RoomEvent
from server.domain.ids import new_id
from server.domain.room import (
    Attendance,
    ChatMessage,
    Hand,
    Identity,
    Invitation,
    Member,
    Question,
    Role,
    Room,
    RoomSettings,
    Snapshot,
    StageTime,
)
from server.rules.admission import ADMITTED_BY
from server.rules.permissions import permitted
from server.state import chat, keys, log
from server.state.refusals import refused
from server.state.webhooks import lua_source
from vocabulary.actions import Action
from vocabulary.errors import DropinError, ErrorCode

CAS_ATTEMPTS = 3
AUDIENCE_PAGE = 50

_member = TypeAdapter(Member).validate_json
_question = TypeAdapter(Question).validate_json
_invitation = TypeAdapter(Invitation).validate_json
_quality = TypeAdapter(Quality).validate_json


class Access(NamedTuple):
    """What decides who may come into a room, and which club's and event's keys its join reads."""

    club_id: str
    event_id: str
    visibility: str


@dataclass(frozen=True)
class Joined:
    member: Member
    seq: int
    is_new: bool


def _script(redis: Redis, name: str) -> AsyncScript:
    return redis.register_script(lua_source("lib.lua", name))


class RoomStore:
    """Reads and changes rooms in Redis."""

    def __init__(self, redis: Redis, host_grace_s: float) -> None:
        """`host_grace_s`: how long a room without its host waits for one before it ends."""
        self.redis = redis
        self.host_grace_s = host_grace_s
        self._access: dict[str, Access] = {}  # by room id: set when the room is created, never changed
        self._create = _script(redis, "create_room.lua")
        self._join = _script(redis, "join.lua")
        self._leave = _script(redis, "leave.lua")
        self._end = redis.register_script(lua_source("lib.lua", "space.lua", "end_room.lua"))  # + the round-up post
        self._ban = _script(redis, "ban.lua")
        self._act = _script(redis, "act.lua")
        self._report_quality = _script(redis, "quality.lua")
        self._react = _script(redis, "reactions.lua")

    async def _access_to(self, room_id: str) -> Access:
        access = self._access.get(room_id)
        if access is None:
            found = await self.redis.hmget(keys.room(room_id), "club_id", "event_id", "visibility")
            club_id, event_id, visibility = cast(list[str | None], found)
            access = Access(club_id or "", event_id or "", visibility or "public")
            if club_id is not None:  # the room exists: cache it
                self._access[room_id] = access
        return access

    async def _run(self, script: AsyncScript, room_id: str, *args: str | int | float) -> Any:
        access = await self._access_to(room_id)
        try:
            return await script(keys=keys.room_keys(room_id, access.club_id, access.event_id), args=list(args))
        except ResponseError as error:
            raise refused(error) from None

    # Rooms

    async def create(
        self,
        host: Identity,
        title: str,
        description: str = "",
        settings: RoomSettings | None = None,
        *,
        visibility: str = "public",
        club_id: str | None = None,
        event_id: str | None = None,
        occurrence: str | None = None,
        cohosts: Sequence[str] = (),
        opens_at: float = 0.0,
    ) -> Room:
        """Open a live room. A scheduled room names its club, event and occurrence; its co-hosts
        join as moderators, and others may join from `opens_at` if `visibility` lets them."""
        settings = settings or RoomSettings()
        room_id = new_id()
        self._access[room_id] = Access(club_id or "", event_id or "", visibility)
        await self._run(
            self._create, room_id, room_id, title, description, host.id, host.name, time.time(),
            int(settings.allow_direct_stage), int(settings.speakers_may_unmute), settings.invite_ttl_s,
            visibility, club_id or "", event_id or "", occurrence or "", json.dumps(list(cohosts)), opens_at,
            settings.slots, self.host_grace_s,
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
            settings=RoomSettings(
                allow_direct_stage=fields["allow_direct_stage"] == "1",
                speakers_may_unmute=fields["speakers_may_unmute"] == "1",
                invite_ttl_s=int(fields["invite_ttl_s"]),
                slots=int(fields.get("slots") or 3),
            ),
            counts={Role(role): int(n) for role, n in counts.items() if int(n) > 0},
            visibility=fields.get("visibility") or "public",
            club_id=fields.get("club_id") or None,
            event_id=fields.get("event_id") or None,
            occurrence=fields.get("occurrence") or None,
            cohosts=tuple(json.loads(fields.get("cohosts") or "[]")),
            opens_at=float(fields.get("opens_at") or 0),
            recording=fields.get("recording") == "1" and fields["status"] == "live",
        )

    async def live(self, limit: int = 200) -> list[Room]:
        """Live rooms, newest first."""
        rooms = []
        for room_id in cast(list[str], await self.redis.zrevrange(keys.LIVE_ROOMS, 0, limit - 1)):
            try:
                rooms.append(await self.get(room_id))
            except DropinError:
                continue
        return rooms

    async def end(self, room_id: str, actor: Identity) -> int:
        """End the room as its host; returns the sequence number of `room_ended`."""
        return await self._end_room(room_id, "host", actor.id)

    async def end_if_hostless(self, room_id: str) -> int | None:
        """End a room that has had no host for too long; None if it has found one meanwhile."""
        return await self._end_room(room_id, "hostless") or None

    async def end_as_operator(self, room_id: str) -> int:
        """End the room for everyone on the operator's word (`dropin rooms end`), host or not."""
        return await self._end_room(room_id, "operator")

    async def _end_room(self, room_id: str, by: str, actor_id: str = "") -> int:
        seq = int(await self._run(self._end, room_id, by, actor_id, time.time()))
        if seq:
            await self.redis.delete(keys.quality(room_id))  # an ended room takes no more (quality.lua)
        return seq

    async def ban(self, room_id: str, identity_id: str, minutes: int | None = None) -> bool:
        """The operator's ban (`dropin ban`): out of the room if in it, as a moderator's remove, and
        kept out for `minutes` or the room's life; whether they were in the room."""
        kind = "room" if minutes is None else "timed"
        present, _ = await self._run(
            self._ban, room_id, identity_id, kind, minutes or 0, time.time(), self.host_grace_s
        )
        return bool(present)

    # Members

    async def member(self, room_id: str, member_id: str) -> Member | None:
        raw = await self.redis.hget(keys.members(room_id), member_id)
        return _member(raw) if raw else None

    async def join(self, room_id: str, identity: Identity, conn: str) -> Joined:
        """Join (or rejoin) the room on connection `conn`."""
        admitted_by = " ".join(ADMITTED_BY[(await self._access_to(room_id)).visibility])
        role, seq, is_new = await self._run(
            self._join, room_id, identity.id, identity.name, time.time(), admitted_by, conn
        )
        member = await self.member(room_id, identity.id)
        if member is None:  # ended or removed between the two calls
            raise DropinError(ErrorCode.ROOM_ENDED, "this room has ended")
        return Joined(member=member, seq=int(seq), is_new=bool(is_new))

    async def leave(self, room_id: str, member_id: str, conn: str = "") -> Role | None:
        """Take the member out of the room, unless they have come back on another connection than
        `conn` (if given); returns the role they had, None if they were not in it (or came back)."""
        role = await self._run(self._leave, room_id, member_id, time.time(), self.host_grace_s, conn)
        return Role(role) if role else None

    async def act(
        self, room_id: str, actor_id: str, action: Action, target_id: str | None = None,
        ban: str = "none", ban_minutes: int = 60, detail: str = "",
    ) -> int:
        """Take a room action if the actor's role permits it on the target's; returns the new seq."""
        if target_id is not None and target_id == actor_id:
            raise DropinError(ErrorCode.CANNOT_TARGET_SELF, "use the action for yourself instead")
        for _ in range(CAS_ATTEMPTS):
            actor = await self.member(room_id, actor_id)
            if actor is None:
                raise DropinError(ErrorCode.NOT_JOINED, "you are not in this room")
            target = await self.member(room_id, target_id) if target_id is not None else None
            if target_id is not None and target is None:
                raise DropinError(ErrorCode.NOT_IN_ROOM, "that member is not in the room")
            if not permitted(actor.role, action, target.role if target else None):
                raise DropinError(ErrorCode.FORBIDDEN, f"a {actor.role} can't {action.replace('_', ' ')}"
                                  + (f" a {target.role}" if target else ""))
            result = await self._run(
                self._act, room_id, action.value, actor.id, actor.role.value,
                target.id if target else "", target.role.value if target else "",
                time.time(), ban, ban_minutes, detail,
            )
            if result != "conflict":
                return int(result)
        raise DropinError(ErrorCode.CONFLICT, "the room changed while you acted; try again")

    async def expire_invite(self, room_id: str, member_id: str) -> None:
        """Let a member's invitation lapse if it has expired (a timer's action, not a member's)."""
        member = await self.member(room_id, member_id)
        if member is not None:
            await self._run(
                self._act, room_id, "expire_invite", member.id, member.role.value, "", "", time.time(), "none", 0, ""
            )

    async def report_quality(self, room_id: str, member_id: str, quality: Quality) -> int:
        """Keep and log a change in the member's connection quality; the event's seq, or 0 if the
        member has left (or the room has ended) meanwhile."""
        return int(await self._run(self._report_quality, room_id, member_id, json.dumps(asdict(quality))))

    async def react(self, room_id: str, counts: dict[str, int]) -> int:
        """Add reactions to the room's totals and log them as one event; its seq, or 0 if the room
        is no longer live."""
        return int(await self._run(self._react, room_id, json.dumps(counts)))

    # Views

    async def quality(self, room_id: str, member_id: str | None = None) -> dict[str, Quality]:
        """The connection quality last announced of everyone in the room, or of one member."""
        if member_id is None:
            found = cast(dict[str, str], await self.redis.hgetall(keys.quality(room_id)))
        else:
            raw = cast(str | None, await self.redis.hget(keys.quality(room_id), member_id))
            found = {member_id: raw} if raw is not None else {}
        return {id: _quality(raw) for id, raw in found.items()}

    async def audience_page(
        self, room_id: str, offset: int = 0, limit: int = AUDIENCE_PAGE
    ) -> tuple[int, list[Identity]]:
        """How many listeners there are, and a page of them in the order they arrived."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zcard(keys.audience(room_id))
            pipe.zrange(keys.audience(room_id), offset, offset + limit - 1)
            count, ids = await pipe.execute()
        people = [_member(raw) for raw in await self._members(room_id, ids)]
        return count, [Identity(p.id, p.name) for p in people]

    async def snapshot(self, room_id: str, member_id: str) -> Snapshot:
        """The room as `member_id` sees it now: hands only for the host and moderators. Two round
        trips: the room's sets, then everyone they name and the chat's latest page."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(keys.room(room_id), "seq")
            pipe.hget(keys.members(room_id), member_id)
            pipe.zrange(keys.stage(room_id), 0, -1)
            pipe.zrange(keys.hands(room_id), 0, -1, withscores=True)
            pipe.hget(keys.invites(room_id), member_id)
            pipe.hvals(keys.questions(room_id))
            pipe.smembers(keys.votes(room_id))
            pipe.zcard(keys.audience(room_id))
            pipe.zrange(keys.audience(room_id), 0, AUDIENCE_PAGE - 1)
            pipe.hmget(keys.room(room_id), *chat.STATE_FIELDS, "recording")
            (seq, raw_you, stage_ids, hands, invitation, questions, votes, listening, audience_ids,
             (chat_off, chat_slow_s, chat_posted, recording)) = await pipe.execute()
        if raw_you is None:
            raise DropinError(ErrorCode.NOT_JOINED, "you are not in this room")
        you = _member(raw_you)
        hand_ids = [h for h, _ in hands] if you.role in (Role.HOST, Role.MODERATOR) else []
        async with self.redis.pipeline(transaction=False) as pipe:  # HMGET needs a field: you, and c0 (never one)
            pipe.hmget(keys.members(room_id), [*stage_ids, *audience_ids, *hand_ids, you.id])
            recent_ids = chat.page_ids(int(chat_posted or 0) + 1)
            pipe.hmget(keys.chat(room_id), recent_ids or ["c0"])
            found, recent = await pipe.execute()
        named = {m.id: m for m in map(_member, (raw for raw in found if raw is not None))}
        at = dict(hands)
        return Snapshot(
            seq=int(seq),
            you=you,
            hand_raised=you.id in at,
            invitation=_invitation(invitation) if invitation else None,
            stage=[named[id] for id in stage_ids if id in named],
            listening=listening,
            audience=[Identity(named[id].id, named[id].name) for id in audience_ids if id in named],
            hands=[Hand(id=id, name=named[id].name, raised_at=at[id]) for id in hand_ids if id in named],
            questions=sorted((_question(q) for q in questions), key=lambda q: q.order),
            your_votes=sorted(v.split(":", 1)[0] for v in votes if v.endswith(f":{member_id}")),
            chat=chat.state(chat_off, chat_slow_s),
            chat_recent=chat.page(recent),
            chat_more=chat.earlier(recent_ids),
            recording=recording == "1",
        )

    async def chat_page(self, room_id: str, before: int) -> tuple[list[ChatMessage], bool]:
        """The chat's messages before number `before`, oldest first, and whether there are older."""
        ids = chat.page_ids(before)
        if not ids:
            return [], False
        found = cast(list[str | None], await self.redis.hmget(keys.chat(room_id), ids))
        return chat.page(found), chat.earlier(ids)

    async def events_since(self, room_id: str, last_seq: int, upto: int) -> list[RoomEvent] | None:
        """The room's events after `last_seq` up to `upto`, or None if the log no longer has them all."""
        return await log.events_since(self.redis, room_id, last_seq, upto)

    async def attendance(self, room_id: str) -> Attendance:
        """What happened in the room so far: listeners, stage time, hands, questions, the host's
        notes, the chat."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.exists(keys.room(room_id))
            pipe.hgetall(keys.room(room_id))
            pipe.hgetall(keys.visitors(room_id))
            pipe.hgetall(keys.stage_time(room_id))
            pipe.hvals(keys.questions(room_id))
            pipe.zrange(keys.stage(room_id), 0, -1)
            pipe.hvals(keys.chat(room_id))
            exists, room, visitors, stage_time, questions, on_stage, chatted = await pipe.execute()
        if not exists:
            raise DropinError(ErrorCode.ROOM_NOT_FOUND, "there is no such room")
        seconds = {id: json.loads(raw) for id, raw in stage_time.items()}
        now = time.time()
        for member in map(_member, await self._members(room_id, on_stage)):
            if member.stage_since:  # still on stage: count the time so far
                entry = seconds.setdefault(member.id, {"name": member.name, "seconds": 0})
                entry["seconds"] += now - member.stage_since
        return Attendance(
            peak_listeners=int(room.get("peak_listeners") or 0),
            listeners=sorted((Identity(id, name) for id, name in visitors.items()), key=lambda p: p.name.lower()),
            stage=sorted(
                (StageTime(Identity(id, e["name"]), e["seconds"]) for id, e in seconds.items()),
                key=lambda s: -s.seconds,
            ),
            hands_raised=int(room.get("hands_raised") or 0),
            questions=sorted((_question(q) for q in questions), key=lambda q: q.order),
            notes=room.get("notes") or "",
            chat=sorted(chat.page(chatted), key=lambda message: message.number),
            reactions={field.split(":", 1)[1]: int(n) for field, n in room.items() if field.startswith("reactions:")},
        )

    async def set_notes(self, room_id: str, actor: Identity, notes: str) -> str:
        """The host's own notes for the round-up."""
        room = await self.get(room_id)
        if actor.id != room.host.id:
            raise DropinError(ErrorCode.FORBIDDEN, "only the room's host can write its notes")
        await self.redis.hset(keys.room(room_id), "notes", notes)
        return notes

    async def _members(self, room_id: str, ids: list[str]) -> list[str]:
        if not ids:
            return []
        found = cast(list[str | None], await self.redis.hmget(keys.members(room_id), ids))
        return [raw for raw in found if raw is not None]
