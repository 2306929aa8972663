"""The websocket protocol's messages (version 1), as pydantic models.

Client requests carry an `id`; the server answers each with a reply whose `re` is that id, or an
`error` with a stable code. Events from the server carry no `re`. See docs/protocol.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, TypeAdapter

from vocabulary.actions import Action, Subject, about

PROTOCOL_VERSION = 1
MAX_SLOTS = 8  # receive slots per peer connection, the most a room may have

RequestId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
RoomId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# Client -> server requests


MemberId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Join(Message):
    """Join a room as the holder of `token`. `last_seq`, when rejoining, asks for what was missed."""

    type: Literal["join"] = "join"
    id: RequestId
    v: int = PROTOCOL_VERSION
    room: RoomId
    token: Annotated[str, StringConstraints(max_length=4096)] = ""  # missing: refused as `unauthorized`
    last_seq: Annotated[int, Field(ge=0)] | None = None


class Offer(Message):
    """The browser's SDP offer: one microphone transceiver, then the receive-only slots."""

    type: Literal["offer"] = "offer"
    id: RequestId
    sdp: str


class Candidate(Message):
    """One ICE candidate trickled by the browser (an empty `candidate` ends them)."""

    type: Literal["candidate"] = "candidate"
    id: RequestId
    candidate: Annotated[str, StringConstraints(max_length=1024)]
    sdpMid: Annotated[str, StringConstraints(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=64)] | None = None


class Leave(Message):
    """Leave quietly: no announcement to the room."""

    type: Literal["leave"] = "leave"
    id: RequestId


class Ping(Message):
    type: Literal["ping"] = "ping"
    id: RequestId


# The room actions' names come from vocabulary/actions.py; tests/unit/test_actions.py checks that
# the requests below cover each exactly once.
SELF_ACTIONS = about(Subject.ROOM)
TARGET_ACTIONS = tuple(action for action in about(Subject.MEMBER) if action != Action.REMOVE)
QUESTION_ACTIONS = about(Subject.QUESTION)


class SelfAction(Message):
    """A room action by the sender about themselves or the whole room."""

    type: Literal[SELF_ACTIONS]  # type: ignore[valid-type]  # the names are the table's, not spelled out
    id: RequestId


class TargetAction(Message):
    """A room action by the sender on another member."""

    type: Literal[TARGET_ACTIONS]  # type: ignore[valid-type]  # as above
    id: RequestId
    target: MemberId


class Ask(Message):
    """Type a question for the stage."""

    type: Literal["ask"] = "ask"
    id: RequestId
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=280)]


class QuestionAction(Message):
    """Upvote a question, or (moderators) mark it answered."""

    type: Literal[QUESTION_ACTIONS]  # type: ignore[valid-type]  # as above
    id: RequestId
    question: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Remove(Message):
    """Remove a member from the room, optionally banning them for a time or for the room's life."""

    type: Literal["remove"] = "remove"
    id: RequestId
    target: MemberId
    ban: Literal["none", "timed", "room"] = "none"
    ban_minutes: Annotated[int, Field(ge=1, le=43_200)] = 60


Request = Annotated[
    Join | Offer | Candidate | Leave | Ping | SelfAction | TargetAction | Remove | Ask | QuestionAction,
    Field(discriminator="type"),
]
ACTION_TYPES = frozenset(action.value for action in Action)
REQUEST_TYPES = frozenset({"join", "offer", "candidate", "leave", "ping", *ACTION_TYPES})
request_adapter: TypeAdapter[Request] = TypeAdapter(Request)


# Server -> client replies and events


def timestamp(seconds: float) -> str:
    """Times are sent as ISO 8601 (UTC); the server keeps unix seconds."""
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _iso(value: object) -> object:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timestamp(value)
    return value


Timestamp = Annotated[str, BeforeValidator(_iso)]  # also takes unix seconds


class Person(Message):
    id: str
    name: str


class MemberView(Person):
    """A member as others see them: role, and whether their microphone is muted (and by whom)."""

    role: str
    muted: bool = False
    muted_by: Literal["self", "moderator"] | None = None


class Hand(Person):
    raised_at: Timestamp


class Invitation(Message):
    by: Person
    expires_at: Timestamp


class Question(Message):
    id: str
    by: Person
    text: str
    votes: int = 0
    answered: bool = False
    asked_at: Timestamp


class You(MemberView):
    hand_raised: bool = False
    invitation: Invitation | None = None


class IceServerInfo(Message):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class RoomSettings(Message):
    """A room's settings as the server sends them (always all of them)."""

    allow_direct_stage: bool
    speakers_may_unmute: bool
    invite_ttl_s: int
    slots: int = Field(ge=1, le=MAX_SLOTS)


class EventRef(Message):
    """The scheduled event and occurrence (local date) a room was opened for."""

    id: str
    date: str | None = None


class RoomInfo(Message):
    id: str
    title: str
    description: str
    host: Person
    status: str
    created_at: Timestamp
    ended_at: Timestamp | None = None
    settings: RoomSettings
    visibility: str = "public"
    club_id: str | None = None
    event: EventRef | None = None


class Audience(Message):
    count: int
    names: list[Person] = []


class SlotHolder(Message):
    slot: int
    speaker: Person | None


# Events of the room log: each carries the room's sequence number.


class MemberJoined(Message):
    """Someone joined on stage (listeners drop in without an event)."""

    type: Literal["member_joined"] = "member_joined"
    seq: int
    member: MemberView


class MemberLeft(Message):
    """Someone on stage left the room (listeners leave without an event)."""

    type: Literal["member_left"] = "member_left"
    seq: int
    id: str
    role: str


class MemberUpdated(Message):
    """A member's role or microphone changed (e.g. brought on stage, muted, made moderator)."""

    type: Literal["member_updated"] = "member_updated"
    seq: int
    member: MemberView


class HandRaised(Message):
    """Sent to moderators and to the member whose hand it is."""

    type: Literal["hand_raised"] = "hand_raised"
    seq: int
    hand: Hand


class HandLowered(Message):
    type: Literal["hand_lowered"] = "hand_lowered"
    seq: int
    id: str
    reason: Literal["lowered", "dismissed", "invited", "on_stage", "left"]


class Invited(Message):
    """Sent to the invited member and to moderators."""

    type: Literal["invited"] = "invited"
    seq: int
    id: str
    invitation: Invitation


class InviteEnded(Message):
    type: Literal["invite_ended"] = "invite_ended"
    seq: int
    id: str
    outcome: Literal["accepted", "declined", "lapsed", "withdrawn", "left"]


class MemberRemoved(Message):
    """Sent to the removed member, to moderators, and to everyone if they were on stage."""

    type: Literal["member_removed"] = "member_removed"
    seq: int
    id: str
    role: str
    banned_until: Timestamp | None = None
    banned_for_room: bool = False


class QuestionAsked(Message):
    type: Literal["question_asked"] = "question_asked"
    seq: int
    question: Question


class QuestionUpdated(Message):
    """A question's votes changed, or it was marked answered."""

    type: Literal["question_updated"] = "question_updated"
    seq: int
    question: Question


class HostChanged(Message):
    type: Literal["host_changed"] = "host_changed"
    seq: int
    host: Person


class RoomEnded(Message):
    type: Literal["room_ended"] = "room_ended"
    seq: int


RoomEvent = Annotated[
    MemberJoined | MemberLeft | MemberUpdated | HandRaised | HandLowered | Invited | InviteEnded | MemberRemoved
    | QuestionAsked | QuestionUpdated | HostChanged | RoomEnded,
    Field(discriminator="type"),
]


class Welcome(Message):
    """What a member learns on joining: a snapshot of the room as of `seq`, and how to connect.

    With `resumed`, `missed` holds the events since the `last_seq` the client gave; without it the
    client was too far behind (or gave none) and the snapshot stands alone.
    """

    room: RoomInfo
    you: You
    stage: list[MemberView]
    audience: Audience
    hands: list[Hand]
    questions: list[Question] = []
    your_votes: list[str] = []
    slots: int
    slot_holders: list[SlotHolder]
    speaking: list[str] = []
    ice_servers: list[IceServerInfo]
    seq: int
    resumed: bool = False
    missed: list[RoomEvent] = []


class Joined(Welcome):
    type: Literal["joined"] = "joined"
    re: str


class Answer(Message):
    type: Literal["answer"] = "answer"
    re: str
    sdp: str


class Ok(Message):
    type: Literal["ok"] = "ok"
    re: str
    seq: int | None = None


class Pong(Message):
    type: Literal["pong"] = "pong"
    re: str


class Error(Message):
    type: Literal["error"] = "error"
    re: str | None = None
    code: str
    message: str


class AudienceEvent(Message):
    """How many are listening; batched, not part of the room log."""

    type: Literal["audience"] = "audience"
    count: int


class HandsEvent(Message):
    """The whole hand queue, sent to a member when they become host or moderator; not logged."""

    type: Literal["hands"] = "hands"
    hands: list[Hand]


class SpeakersEvent(Message):
    """Who is talking, and who holds which receive slot; sent about every 300 ms when either
    changed, not part of the room log."""

    type: Literal["speakers"] = "speakers"
    speaking: list[str]
    slots: list[SlotHolder]


ServerMessage = Annotated[
    Joined | Answer | Ok | Pong | Error | AudienceEvent | HandsEvent | SpeakersEvent
    | MemberJoined | MemberLeft | MemberUpdated | HandRaised | HandLowered | Invited | InviteEnded | MemberRemoved
    | QuestionAsked | QuestionUpdated | HostChanged | RoomEnded,
    Field(discriminator="type"),
]
server_message_adapter: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def encode(message: Message) -> str:
    """The wire form; an `ok` without `seq` (not a room action) leaves it out."""
    return message.model_dump_json(exclude={"seq"} if isinstance(message, Ok) and message.seq is None else None)


def decode_server_message(data: str | bytes) -> Message:
    return server_message_adapter.validate_json(data)
