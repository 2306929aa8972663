"""A live room and who is in it: roles, members, hands, invitations, questions.

Times are unix seconds. These types are what the state plane stores and reads; the wire's
messages are made from them in server/wire.py only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

MutedBy = Literal["self", "moderator"]


class Role(StrEnum):
    HOST = "host"
    MODERATOR = "moderator"
    SPEAKER = "speaker"
    LISTENER = "listener"


ON_STAGE = frozenset({Role.HOST, Role.MODERATOR, Role.SPEAKER})


@dataclass(frozen=True)
class Identity:
    """Who someone is across rooms: the id and display name their token carries."""

    id: str
    name: str


@dataclass(frozen=True)
class RoomSettings:
    allow_direct_stage: bool = False
    speakers_may_unmute: bool = True
    invite_ttl_s: int = 60
    slots: int = 3


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
    settings: RoomSettings
    counts: dict[Role, int] = field(default_factory=dict)
    visibility: str = "public"
    club_id: str | None = None
    event_id: str | None = None
    occurrence: str | None = None
    cohosts: tuple[str, ...] = ()
    opens_at: float = 0.0
    recording: bool = False

    @property
    def listeners(self) -> int:
        return self.counts.get(Role.LISTENER, 0)

    @property
    def on_stage(self) -> int:
        return sum(n for role, n in self.counts.items() if role in ON_STAGE)


@dataclass(frozen=True)
class Member:
    """A member of a live room. Events carry only who they are, their role and their microphone;
    the stored member also knows when they joined, got their role and came on stage."""

    id: str
    name: str
    role: Role
    muted: bool = False
    muted_by: MutedBy | None = None
    joined_at: float = 0.0
    since: float = 0.0
    stage_since: float | None = None
    conn: str = ""  # the connection they are in the room through (stored only)


@dataclass(frozen=True)
class Hand:
    id: str
    name: str
    raised_at: float


@dataclass(frozen=True)
class Invitation:
    by: Identity
    expires_at: float


@dataclass(frozen=True)
class Question:
    id: str
    by: Identity
    text: str
    asked_at: float
    votes: int = 0
    answered: bool = False

    @property
    def order(self) -> tuple[int, float]:
        """Most votes first, then the order asked."""
        return (-self.votes, self.asked_at)


@dataclass(frozen=True)
class ChatMessage:
    """A message in the room's chat, `c<n>` for the n-th posted."""

    id: str
    by: Identity
    text: str
    at: float

    @property
    def number(self) -> int:
        return int(self.id[1:])


@dataclass(frozen=True)
class ChatState:
    """Whether members may post (moderators always may), and listeners' slow mode in seconds."""

    enabled: bool = True
    slow_s: int = 0


@dataclass(frozen=True)
class Snapshot:
    """The room as one member sees it, as of `seq`: hands only for the host and moderators."""

    seq: int
    you: Member
    hand_raised: bool
    invitation: Invitation | None
    stage: list[Member]
    listening: int
    audience: list[Identity]  # the first page of listeners, in the order they arrived
    hands: list[Hand]
    questions: list[Question]
    your_votes: list[str]
    chat: ChatState
    chat_recent: list[ChatMessage]  # the latest page, oldest first
    chat_more: bool  # whether there are messages before it
    recording: bool = False


@dataclass(frozen=True)
class StageTime:
    who: Identity
    seconds: float


@dataclass(frozen=True)
class Attendance:
    """What happened in a room, for its round-up."""

    peak_listeners: int
    listeners: list[Identity]  # everyone who listened at some point
    stage: list[StageTime]  # longest first
    hands_raised: int
    questions: list[Question]
    notes: str
    chat: list[ChatMessage]  # what is left of the chat (deleted messages are not), in order
    reactions: dict[str, int]  # kind -> how many were sent
