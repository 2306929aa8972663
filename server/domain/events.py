"""The room log's events: every change to a live room, under the room's sequence number.

The state plane appends them (server/state/lua/) and reads them back (server/state/log.py); the
service applies them to the media plane and translates them for members (server/wire.py).
`type` names each kind as it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from server.domain.room import ChatMessage, ChatState, Hand, Identity, Invitation, Member, Question, Role

HandOutcome = Literal["lowered", "dismissed", "invited", "on_stage", "left"]
InviteOutcome = Literal["accepted", "declined", "lapsed", "withdrawn", "left"]
Level = Literal["excellent", "good", "poor", "lost"]
"""How well audio gets through, best first (server/media/quality.py decides)."""


@dataclass(frozen=True, kw_only=True)
class MemberJoined:
    """Anyone joined (listeners too: the log records every arrival)."""

    seq: int
    member: Member
    type: Literal["member_joined"] = "member_joined"


@dataclass(frozen=True, kw_only=True)
class MemberLeft:
    seq: int
    id: str
    role: Role
    type: Literal["member_left"] = "member_left"


@dataclass(frozen=True, kw_only=True)
class MemberUpdated:
    """A member's role or microphone changed."""

    seq: int
    member: Member
    type: Literal["member_updated"] = "member_updated"


@dataclass(frozen=True, kw_only=True)
class HandRaised:
    seq: int
    hand: Hand
    type: Literal["hand_raised"] = "hand_raised"


@dataclass(frozen=True, kw_only=True)
class HandLowered:
    seq: int
    id: str
    reason: HandOutcome
    type: Literal["hand_lowered"] = "hand_lowered"


@dataclass(frozen=True, kw_only=True)
class Invited:
    seq: int
    id: str
    invitation: Invitation
    type: Literal["invited"] = "invited"


@dataclass(frozen=True, kw_only=True)
class InviteEnded:
    seq: int
    id: str
    outcome: InviteOutcome
    type: Literal["invite_ended"] = "invite_ended"


@dataclass(frozen=True, kw_only=True)
class MemberRemoved:
    """A moderator removed a member; `banned_until` (unix seconds) or for the room's life."""

    seq: int
    id: str
    role: Role
    banned_until: float | None = None
    banned_for_room: bool = False
    type: Literal["member_removed"] = "member_removed"


@dataclass(frozen=True, kw_only=True)
class QuestionAsked:
    seq: int
    question: Question
    type: Literal["question_asked"] = "question_asked"


@dataclass(frozen=True, kw_only=True)
class QuestionUpdated:
    """A question's votes changed, or it was marked answered."""

    seq: int
    question: Question
    type: Literal["question_updated"] = "question_updated"


@dataclass(frozen=True, kw_only=True)
class ChatPosted:
    seq: int
    message: ChatMessage
    type: Literal["chat_posted"] = "chat_posted"


@dataclass(frozen=True, kw_only=True)
class ChatDeleted:
    """A moderator (`by`) deleted a message from the chat."""

    seq: int
    id: str
    by: Identity
    type: Literal["chat_deleted"] = "chat_deleted"


@dataclass(frozen=True, kw_only=True)
class ChatHidden:
    """A moderator (`by`) removed a member (`id`) and deleted all their messages from the chat."""

    seq: int
    id: str
    by: Identity
    type: Literal["chat_hidden"] = "chat_hidden"


@dataclass(frozen=True, kw_only=True)
class ChatChanged:
    """The chat was turned on or off, or its slow mode changed."""

    seq: int
    chat: ChatState
    type: Literal["chat_changed"] = "chat_changed"


@dataclass(frozen=True, kw_only=True)
class RecordingChanged:
    """The host started or stopped recording the room."""

    seq: int
    recording: bool
    type: Literal["recording_changed"] = "recording_changed"


@dataclass(frozen=True, kw_only=True)
class Reactions:
    """Reactions sent through one node since its last such event (server/reactions.py)."""

    seq: int
    counts: dict[str, int]
    type: Literal["reactions"] = "reactions"


@dataclass(frozen=True, kw_only=True)
class HostChanged:
    seq: int
    host: Identity
    type: Literal["host_changed"] = "host_changed"


@dataclass(frozen=True, kw_only=True)
class RoomEnded:
    seq: int
    type: Literal["room_ended"] = "room_ended"


@dataclass(frozen=True, kw_only=True)
class Link:
    """One direction of a member's audio: loss (0 to 1), jitter, and seconds since the last packet
    (for the downlink: since their last report on what we send them)."""

    level: Level
    loss: float
    jitter_ms: float
    since_packet_s: float | None


@dataclass(frozen=True, kw_only=True)
class Quality:
    """A member's connection: `down` (can they hear?), `up` (can we hear them? only while they may
    speak), the round-trip time, and `level`, the worse of the two links."""

    level: Level
    down: Link | None
    up: Link | None
    rtt_ms: float | None


@dataclass(frozen=True, kw_only=True)
class QualityChanged:
    """A member's quality level, or the level of one of their links, changed."""

    seq: int
    id: str
    quality: Quality
    type: Literal["quality_changed"] = "quality_changed"


RoomEvent = (
    MemberJoined | MemberLeft | MemberUpdated | HandRaised | HandLowered | Invited | InviteEnded
    | MemberRemoved | QuestionAsked | QuestionUpdated | ChatPosted | ChatDeleted | ChatHidden | ChatChanged
    | RecordingChanged | Reactions
    | HostChanged | RoomEnded | QualityChanged
)
