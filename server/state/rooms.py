"""RoomState in Redis: rooms, members and roles, the hand queue, invitations, bans, the event log.

Every transition is one Lua script (server/state/lua/), so the checks and the change they guard
happen atomically, and each change appends an event to the room's log under the room's next
sequence number. Who may do what is decided by the pure permission matrix
(server/rules/permissions.py) on the roles read just before; the script refuses with `conflict`
if either role changed in between, and the action is decided again on fresh state.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from server.identity import Identity
from server.roundup import Roundup, RoundupRoom, StageTime
from server.rules.permissions import Action, permitted
from server.rules.roles import Role, is_on_stage
from server.state import keys
from signaling import messages as m
from vocabulary.errors import DropinError, ErrorCode

CAS_ATTEMPTS = 3
AUDIENCE_PAGE = 50
REPLAY_LIMIT = 500

_REFUSALS = {
    "room_not_found": (ErrorCode.ROOM_NOT_FOUND, "there is no such room"),
    "room_ended": (ErrorCode.ROOM_ENDED, "this room has ended"),
    "forbidden": (ErrorCode.FORBIDDEN, "only the room's host can do that"),
    "not_joined": (ErrorCode.NOT_JOINED, "you are not in this room"),
    "not_in_room": (ErrorCode.NOT_IN_ROOM, "that member is not in the room"),
    "hand_already_raised": (ErrorCode.HAND_ALREADY_RAISED, "your hand is already raised"),
    "no_hand": (ErrorCode.NO_HAND, "that hand is not raised"),
    "already_invited": (ErrorCode.ALREADY_INVITED, "there is already an invitation to the stage pending"),
    "no_invitation": (ErrorCode.NO_INVITATION, "there is no invitation to accept or decline"),
    "invitation_lapsed": (ErrorCode.INVITATION_LAPSED, "the invitation has lapsed"),
    "direct_stage_disabled": (
        ErrorCode.DIRECT_STAGE_DISABLED, "this room doesn't allow moving listeners straight to the stage; invite them"
    ),
    "unmute_not_allowed": (ErrorCode.UNMUTE_NOT_ALLOWED, "a moderator muted you, and this room doesn't let you unmute"),
    "not_invited": (ErrorCode.NOT_INVITED, "this room is for invited guests (or the club's members) only"),
    "question_not_found": (ErrorCode.QUESTION_NOT_FOUND, "there is no such question"),
    "already_voted": (ErrorCode.ALREADY_VOTED, "you have already upvoted that question"),
}


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    role: Role
    joined_at: float = 0.0
    since: float = 0.0
    muted: bool = False
    muted_by: str | None = None
    stage_since: float | None = None

    @classmethod
    def from_json(cls, raw: str) -> Member:
        d = json.loads(raw)
        return cls(
            d["id"], d["name"], Role(d["role"]), d["joined_at"], d["since"], d["muted"], d.get("muted_by"),
            d.get("stage_since"),
        )

    def view(self) -> m.MemberView:
        return m.MemberView(id=self.id, name=self.name, role=self.role.value, muted=self.muted, muted_by=self.muted_by)


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
    settings: m.RoomSettings
    counts: dict[Role, int] = field(default_factory=dict)
    visibility: str = "public"
    club_id: str | None = None
    event_id: str | None = None
    occurrence: str | None = None
    cohosts: tuple[str, ...] = ()
    opens_at: float = 0.0

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


@dataclass(frozen=True)
class Snapshot:
    """The room as one member sees it, as of `seq`."""

    seq: int
    you: m.You
    stage: list[m.MemberView]
    audience: m.Audience
    hands: list[m.Hand]
    questions: list[m.Question]
    your_votes: list[str]


def _question_order(question: m.Question) -> tuple[int, str]:
    """Most votes first, then the order asked."""
    return (-question.votes, question.asked_at)


def _refusal(error: ResponseError) -> DropinError:
    text = str(error)
    if text.startswith("not_open_yet:"):
        opens = datetime.fromtimestamp(float(text.split(":", 1)[1]), UTC).strftime("%H:%M UTC")
        return DropinError(ErrorCode.NOT_OPEN_YET, f"this room opens to everyone at {opens}")
    if text.startswith("banned:"):
        until = float(text.split(":", 1)[1])
        if until == 0:
            return DropinError(ErrorCode.BANNED, "you were removed from this room and can't rejoin it")
        when = datetime.fromtimestamp(until, UTC).strftime("%H:%M UTC")
        return DropinError(ErrorCode.BANNED, f"you were removed from this room and can rejoin after {when}")
    code, message = _REFUSALS.get(text, (ErrorCode.INTERNAL, text))
    return DropinError(code, message)


def _script(redis: Redis, name: str) -> AsyncScript:
    lua = resources.files("server.state").joinpath("lua")
    return redis.register_script(lua.joinpath("lib.lua").read_text() + "\n" + lua.joinpath(name).read_text())


class RoomStore:
    """Reads and changes rooms in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._access: dict[str, tuple[str, str]] = {}  # room id -> (club id, event id); never change
        self._create = _script(redis, "create_room.lua")
        self._join = _script(redis, "join.lua")
        self._leave = _script(redis, "leave.lua")
        self._end = _script(redis, "end_room.lua")
        self._act = _script(redis, "act.lua")

    async def _run(self, script: AsyncScript, room_id: str, *args: object):
        access = self._access.get(room_id)
        if access is None:
            club_id, event_id = await self.redis.hmget(keys.room(room_id), "club_id", "event_id")
            access = (club_id or "", event_id or "")
            if club_id is not None:  # the room exists: cache it
                self._access[room_id] = access
        try:
            return await script(keys=keys.room_keys(room_id, *access), args=list(args))
        except ResponseError as error:
            raise _refusal(error) from None

    # Rooms

    async def create(
        self,
        host: Identity,
        title: str,
        description: str = "",
        settings: m.RoomSettings | None = None,
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
        settings = settings or m.RoomSettings()
        room_id = secrets.token_urlsafe(8)
        self._access[room_id] = (club_id or "", event_id or "")
        await self._run(
            self._create, room_id, room_id, title, description, host.id, host.name, time.time(),
            int(settings.allow_direct_stage), int(settings.speakers_may_unmute), settings.invite_ttl_s,
            visibility, club_id or "", event_id or "", occurrence or "", json.dumps(list(cohosts)), opens_at, settings.slots,
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
            settings=m.RoomSettings(
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
        )

    async def live(self, limit: int = 200) -> list[Room]:
        """Live rooms, newest first."""
        rooms = []
        for room_id in await self.redis.zrevrange(keys.LIVE_ROOMS, 0, limit - 1):
            try:
                rooms.append(await self.get(room_id))
            except DropinError:
                continue
        return rooms

    async def end(self, room_id: str, actor: Identity | None) -> int | None:
        """End the room as its host, or (actor None) because it has had no host for too long.

        Returns the sequence number of `room_ended`, or None if an abandoned room found a host.
        """
        seq = await self._run(self._end, room_id, actor.id if actor else "", time.time())
        return int(seq) or None

    # Members

    async def member(self, room_id: str, member_id: str) -> Member | None:
        raw = await self.redis.hget(keys.members(room_id), member_id)
        return Member.from_json(raw) if raw else None

    async def join(self, room_id: str, identity: Identity) -> Joined:
        role, seq, is_new = await self._run(self._join, room_id, identity.id, identity.name, time.time())
        member = await self.member(room_id, identity.id)
        if member is None:  # ended or removed between the two calls
            raise DropinError(ErrorCode.ROOM_ENDED, "this room has ended")
        return Joined(member=member, seq=int(seq), is_new=bool(is_new))

    async def leave(self, room_id: str, member_id: str) -> Role | None:
        """Take the member out of the room; returns the role they had, None if they were not in it."""
        role = await self._run(self._leave, room_id, member_id, time.time())
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

    # Views

    async def stage(self, room_id: str) -> list[Member]:
        """Members on stage, in the order they got their role."""
        ids = await self.redis.zrange(keys.stage(room_id), 0, -1)
        return [Member.from_json(raw) for raw in await self._members(room_id, ids)]

    async def audience_page(self, room_id: str, offset: int = 0, limit: int = AUDIENCE_PAGE) -> tuple[int, list[m.Person]]:
        """How many listeners there are, and a page of them in the order they arrived."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zcard(keys.audience(room_id))
            pipe.zrange(keys.audience(room_id), offset, offset + limit - 1)
            count, ids = await pipe.execute()
        people = [Member.from_json(raw) for raw in await self._members(room_id, ids)]
        return count, [m.Person(id=p.id, name=p.name) for p in people]

    async def snapshot(self, room_id: str, member_id: str) -> Snapshot:
        """The room as `member_id` sees it now: hands only for the host and moderators."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(keys.room(room_id), "seq")
            pipe.hget(keys.members(room_id), member_id)
            pipe.zrange(keys.stage(room_id), 0, -1)
            pipe.zrange(keys.hands(room_id), 0, -1, withscores=True)
            pipe.hget(keys.invites(room_id), member_id)
            pipe.hvals(keys.questions(room_id))
            pipe.smembers(keys.votes(room_id))
            seq, raw_you, stage_ids, hands, invitation, questions, votes = await pipe.execute()
        if raw_you is None:
            raise DropinError(ErrorCode.NOT_JOINED, "you are not in this room")
        you = Member.from_json(raw_you)
        stage = [Member.from_json(raw).view() for raw in await self._members(room_id, stage_ids)]
        count, names = await self.audience_page(room_id)
        shown: list[m.Hand] = []
        if you.role in (Role.HOST, Role.MODERATOR):
            raised = [Member.from_json(raw) for raw in await self._members(room_id, [h for h, _ in hands])]
            at = dict(hands)
            shown = [m.Hand(id=p.id, name=p.name, raised_at=at[p.id]) for p in raised]
        return Snapshot(
            seq=int(seq),
            you=m.You(
                **dict(you.view()),
                hand_raised=any(h == you.id for h, _ in hands),
                invitation=m.Invitation(**json.loads(invitation)) if invitation else None,
            ),
            stage=stage,
            audience=m.Audience(count=count, names=names),
            hands=shown,
            questions=sorted((m.Question.model_validate_json(q) for q in questions), key=_question_order),
            your_votes=sorted(v.split(":", 1)[0] for v in votes if v.endswith(f":{member_id}")),
        )

    async def events_since(self, room_id: str, last_seq: int, upto: int) -> list[m.Message] | None:
        """The room's events after `last_seq` up to `upto`, or None if the log no longer has them all."""
        if upto - last_seq > REPLAY_LIMIT:
            return None
        entries = await self.redis.xrange(keys.log(room_id), f"{last_seq + 1}-0", f"{upto}-0")
        events = [m.room_event_adapter.validate_json(fields["event"]) for _, fields in entries]
        if len(events) != upto - last_seq:
            return None
        return events

    async def roundup(self, room_id: str) -> Roundup:
        """What happened in the room: audience, stage time, hands, questions, the host's notes."""
        room = await self.get(room_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hmget(keys.room(room_id), "peak_listeners", "hands_raised", "notes")
            pipe.hgetall(keys.visitors(room_id))
            pipe.hgetall(keys.stage_time(room_id))
            pipe.hvals(keys.questions(room_id))
            pipe.zrange(keys.stage(room_id), 0, -1)
            (peak, hands, notes), visitors, stage_time, questions, on_stage = await pipe.execute()
        seconds = {id: json.loads(raw) for id, raw in stage_time.items()}
        now = time.time()
        for member in map(Member.from_json, await self._members(room_id, on_stage)):
            if member.stage_since:  # still on stage: count the time so far
                entry = seconds.setdefault(member.id, {"name": member.name, "seconds": 0})
                entry["seconds"] += now - member.stage_since
        return Roundup(
            room=RoundupRoom(id=room.id, title=room.title, description=room.description, host=room.host.name),
            event=m.EventRef(id=room.event_id, date=room.occurrence) if room.event_id else None,
            status=room.status,
            started_at=room.created_at,
            ended_at=room.ended_at,
            peak_listeners=int(peak or 0),
            unique_listeners=len(visitors),
            listeners=sorted((m.Person(id=id, name=name) for id, name in visitors.items()), key=lambda p: p.name.lower()),
            stage=sorted(
                (StageTime(id=id, name=e["name"], seconds=e["seconds"]) for id, e in seconds.items()),
                key=lambda s: -s.seconds,
            ),
            hands_raised=int(hands or 0),
            questions=sorted((m.Question.model_validate_json(q) for q in questions), key=_question_order),
            notes=notes or "",
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
        return [raw for raw in await self.redis.hmget(keys.members(room_id), ids) if raw is not None]
