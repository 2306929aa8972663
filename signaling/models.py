"""The protocol's building blocks (version 1): the strict base of every message, the ids and times
it carries, and the views of a room that several messages share. signaling/messages.py has the
messages themselves (and names all of these too)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

MAX_SLOTS = 8  # receive slots per peer connection, the most a room may have

RequestId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
RoomId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MemberId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


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


class ChatMessage(Message):
    """One message in the room's chat; `id` is `c<n>`, numbered from 1 in the order posted."""

    id: str
    by: Person
    text: str
    at: Timestamp


ReactionKind = Literal["applause", "plus_one", "heart", "laugh", "thinking"]
"""The reactions a member may send: a small fixed set, counted per room."""


class ChatState(Message):
    """Whether members may post (moderators always may) and slow mode: the seconds a listener
    waits between messages (0: off; everyone waits at least a second)."""

    enabled: bool = True
    slow_s: int = 0


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
    recording: bool = False  # whether the host is recording the room now (a joiner is told before joining)


class Audience(Message):
    count: int
    names: list[Person] = []


class SlotHolder(Message):
    slot: int
    speaker: Person | None
