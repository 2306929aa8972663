"""The websocket protocol's messages (version 1), as pydantic models: the requests, the replies,
and (from signaling/events.py, named here too) the room log's events.

Client requests carry an `id`; the server answers each with a reply whose `re` is that id, or an
`error` with a stable code. Events from the server carry no `re`. See docs/protocol.md. The parts
they are made of are in signaling/models.py, and named here too (`m.Person`, `m.timestamp`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, TypeAdapter

from signaling.events import ChatChanged as ChatChanged
from signaling.events import ChatDeleted as ChatDeleted
from signaling.events import ChatHidden as ChatHidden
from signaling.events import ChatPosted as ChatPosted
from signaling.events import HandLowered as HandLowered
from signaling.events import HandRaised as HandRaised
from signaling.events import HostChanged as HostChanged
from signaling.events import Invited as Invited
from signaling.events import InviteEnded as InviteEnded
from signaling.events import Link as Link
from signaling.events import MemberJoined as MemberJoined
from signaling.events import MemberLeft as MemberLeft
from signaling.events import MemberRemoved as MemberRemoved
from signaling.events import MemberUpdated as MemberUpdated
from signaling.events import Quality as Quality
from signaling.events import QualityChanged as QualityChanged
from signaling.events import QuestionAsked as QuestionAsked
from signaling.events import QuestionUpdated as QuestionUpdated
from signaling.events import Reactions as Reactions
from signaling.events import RecordingChanged as RecordingChanged
from signaling.events import RoomEnded as RoomEnded
from signaling.events import RoomEvent as RoomEvent
from signaling.models import MAX_SLOTS as MAX_SLOTS
from signaling.models import Audience as Audience
from signaling.models import ChatMessage as ChatMessage
from signaling.models import ChatState as ChatState
from signaling.models import EventRef as EventRef
from signaling.models import Hand as Hand
from signaling.models import IceServerInfo as IceServerInfo
from signaling.models import Invitation as Invitation
from signaling.models import MemberId as MemberId
from signaling.models import MemberView as MemberView
from signaling.models import Message as Message
from signaling.models import Person as Person
from signaling.models import Question as Question
from signaling.models import ReactionKind as ReactionKind
from signaling.models import RequestId as RequestId
from signaling.models import RoomId as RoomId
from signaling.models import RoomInfo as RoomInfo
from signaling.models import RoomSettings as RoomSettings
from signaling.models import SlotHolder as SlotHolder
from signaling.models import Timestamp as Timestamp
from signaling.models import You as You
from signaling.models import timestamp as timestamp
from vocabulary.actions import Action, Subject, about

PROTOCOL_VERSION = 1
ECHO_MAX_S = 10
CHAT_MAX_CHARS = 500
CHAT_SLOW_MAX_S = 300


# Client -> server requests


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


class Echo(Message):
    """An echo test: the server sends your own microphone back to you alone, for `seconds`."""

    type: Literal["echo"] = "echo"
    id: RequestId
    seconds: Annotated[int, Field(ge=1, le=ECHO_MAX_S)] = ECHO_MAX_S


# The room actions' names come from vocabulary/actions.py; tests/unit/test_actions.py checks that
# the requests below cover each exactly once.
SELF_ACTIONS = about(Subject.ROOM)
TARGET_ACTIONS = tuple(action for action in about(Subject.MEMBER) if action != Action.REMOVE)
QUESTION_ACTIONS = about(Subject.QUESTION)
MESSAGE_ACTIONS = about(Subject.MESSAGE)
CHAT_ACTIONS = about(Subject.CHAT)
RECORDING_ACTIONS = about(Subject.RECORDING)


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


class Chat(Message):
    """Post a message in the room's chat."""

    type: Literal["chat"] = "chat"
    id: RequestId
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CHAT_MAX_CHARS)]


class MessageAction(Message):
    """(Moderators) delete a message from the room's chat."""

    type: Literal[MESSAGE_ACTIONS]  # type: ignore[valid-type]  # as above
    id: RequestId
    message: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class SetChat(Message):
    """(Moderators) turn the room's chat on or off, and set slow mode for listeners."""

    type: Literal[CHAT_ACTIONS]  # type: ignore[valid-type]  # as above
    id: RequestId
    enabled: bool = True
    slow_s: Annotated[int, Field(ge=0, le=CHAT_SLOW_MAX_S)] = 0


class SetRecording(Message):
    """(The host) start or stop recording the room; everyone in it sees that it is recorded."""

    type: Literal[RECORDING_ACTIONS]  # type: ignore[valid-type]  # as above
    id: RequestId
    on: bool


class ChatHistory(Message):
    """The chat's messages before `before` (a message id), newest last; not a room action."""

    type: Literal["chat_history"] = "chat_history"
    id: RequestId
    before: Annotated[str, StringConstraints(pattern=r"^c[0-9]{1,9}$")]


class React(Message):
    """Applaud, +1, ... : counted with everyone else's and shown by the stage; not a room action."""

    type: Literal["react"] = "react"
    id: RequestId
    kind: ReactionKind


class Remove(Message):
    """Remove a member from the room, optionally banning them for a time or for the room's life."""

    type: Literal["remove"] = "remove"
    id: RequestId
    target: MemberId
    ban: Literal["none", "timed", "room"] = "none"
    ban_minutes: Annotated[int, Field(ge=1, le=43_200)] = 60
    hide_messages: bool = False  # delete their messages from the room's chat too


Request = Annotated[
    Join | Offer | Candidate | Leave | Ping | Echo | SelfAction | TargetAction | Remove | Ask | QuestionAction
    | Chat | MessageAction | SetChat | SetRecording | ChatHistory | React,
    Field(discriminator="type"),
]
ACTION_TYPES = frozenset(action.value for action in Action)
REQUEST_TYPES = frozenset(
    {"join", "offer", "candidate", "leave", "ping", "echo", "chat_history", "react", *ACTION_TYPES}
)
request_adapter: TypeAdapter[Request] = TypeAdapter(Request)


# Server -> client replies and events


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
    chat: ChatState = ChatState()
    chat_recent: list[ChatMessage] = []  # the latest page (50) of messages, oldest first
    chat_more: bool = False  # whether there are older ones (chat_history)
    recording: bool = False  # whether the room is being recorded
    slots: int
    slot_holders: list[SlotHolder]
    speaking: list[str] = []
    ice_servers: list[IceServerInfo]
    quality: dict[str, Quality] = {}
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
    """A request done: a room action's with the room's `seq` after it; an echo test's with the
    slot it plays on and for how long."""

    type: Literal["ok"] = "ok"
    re: str
    seq: int | None = None
    slot: int | None = None
    seconds: int | None = None


class ChatPage(Message):
    """The reply to `chat_history`: up to a page (50) of messages, oldest first; `more` if there
    are older ones still (ask again with the first one's id)."""

    type: Literal["chat_page"] = "chat_page"
    re: str
    messages: list[ChatMessage]
    more: bool


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


class QualityEvent(Message):
    """Every member's connection quality as last announced, sent to a member when they become
    host or moderator (as `hands` is); not logged. Changes then come as `quality_changed`."""

    type: Literal["quality"] = "quality"
    quality: dict[str, Quality]


class SpeakersEvent(Message):
    """Who is talking, and who holds which receive slot; sent about every 300 ms when either
    changed, not part of the room log."""

    type: Literal["speakers"] = "speakers"
    speaking: list[str]
    slots: list[SlotHolder]


ServerMessage = Annotated[
    Joined | Answer | Ok | ChatPage | Pong | Error | AudienceEvent | HandsEvent | QualityEvent | SpeakersEvent
    | MemberJoined | MemberLeft | MemberUpdated | HandRaised | HandLowered | Invited | InviteEnded | MemberRemoved
    | QuestionAsked | QuestionUpdated | ChatPosted | ChatDeleted | ChatHidden | ChatChanged
    | RecordingChanged | Reactions | HostChanged
    | RoomEnded | QualityChanged,
    Field(discriminator="type"),
]
server_message_adapter: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def encode(message: Message) -> str:
    """The wire form; an `ok` leaves out what its request has not (`seq` but for a room action)."""
    return message.model_dump_json(exclude_none=isinstance(message, Ok))


def decode_server_message(data: str | bytes) -> Message:
    return server_message_adapter.validate_json(data)
