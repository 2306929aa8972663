"""The room log's events as members are sent them (protocol version 1): each carries the room's
sequence number. server/wire.py makes them from the domain's events; signaling/messages.py names
them too (`m.ChatPosted`), with the requests and replies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from signaling.models import (
    ChatMessage,
    ChatState,
    Hand,
    Invitation,
    MemberView,
    Message,
    Person,
    Question,
    ReactionKind,
    Timestamp,
)


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


class ChatPosted(Message):
    type: Literal["chat_posted"] = "chat_posted"
    seq: int
    message: ChatMessage


class ChatDeleted(Message):
    """A moderator (`by`) deleted a message: everyone's page removes it."""

    type: Literal["chat_deleted"] = "chat_deleted"
    seq: int
    id: str
    by: Person


class ChatHidden(Message):
    """A moderator (`by`) removed a member (`id`) and deleted all their chat messages."""

    type: Literal["chat_hidden"] = "chat_hidden"
    seq: int
    id: str
    by: Person


class ChatChanged(Message):
    """The chat was turned on or off, or slow mode changed."""

    type: Literal["chat_changed"] = "chat_changed"
    seq: int
    chat: ChatState


class RecordingChanged(Message):
    """The host started or stopped recording the room."""

    type: Literal["recording_changed"] = "recording_changed"
    seq: int
    recording: bool


class Reactions(Message):
    """The room's reactions since the last such event from the same node: at most one every half
    second per node, however many people react."""

    type: Literal["reactions"] = "reactions"
    seq: int
    counts: dict[ReactionKind, int]


class HostChanged(Message):
    type: Literal["host_changed"] = "host_changed"
    seq: int
    host: Person


class RoomEnded(Message):
    type: Literal["room_ended"] = "room_ended"
    seq: int


Level = Literal["excellent", "good", "poor", "lost"]


class Link(Message):
    """One direction of a member's audio: loss (0 to 1), jitter, seconds since the last packet."""

    level: Level
    loss: float
    jitter_ms: float
    since_packet_s: float | None


class Quality(Message):
    """A member's connection: `down` (can they hear?), `up` (can we hear them? while they may
    speak), and `level`, the worse of the two."""

    level: Level
    down: Link | None
    up: Link | None
    rtt_ms: float | None


class QualityChanged(Message):
    """Sent to moderators and to the member concerned."""

    type: Literal["quality_changed"] = "quality_changed"
    seq: int
    id: str
    quality: Quality


RoomEvent = Annotated[
    MemberJoined | MemberLeft | MemberUpdated | HandRaised | HandLowered | Invited | InviteEnded | MemberRemoved
    | QuestionAsked | QuestionUpdated | ChatPosted | ChatDeleted | ChatHidden | ChatChanged
    | RecordingChanged | Reactions | HostChanged
    | RoomEnded | QualityChanged,
    Field(discriminator="type"),
]
