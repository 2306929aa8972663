"""The websocket protocol's messages (version 1), as pydantic models.

Client requests carry an `id`; the server answers each with a reply whose `re` is that id, or an
`error` with a stable code. Events from the server carry no `re`. See docs/protocol.md.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

PROTOCOL_VERSION = 1

RequestId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
RoomId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Client -> server requests


class Join(Message):
    """Join a room as the holder of `token`; the room's creator joins as host."""

    type: Literal["join"] = "join"
    id: RequestId
    v: int = PROTOCOL_VERSION
    room: RoomId
    token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


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


Request = Annotated[Union[Join, Offer, Candidate, Leave, Ping], Field(discriminator="type")]
REQUEST_TYPES = frozenset({"join", "offer", "candidate", "leave", "ping"})
request_adapter: TypeAdapter[Request] = TypeAdapter(Request)


# Server -> client replies and events


class Person(Message):
    id: str
    name: str


class StageMember(Person):
    role: str


class IceServerInfo(Message):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class RoomInfo(Message):
    id: str
    title: str
    description: str
    host: Person
    status: str
    created_at: str
    ended_at: str | None = None


class Audience(Message):
    count: int


class SlotHolder(Message):
    slot: int
    speaker: Person | None


class Welcome(Message):
    """What a member learns on joining: the room, their role, the stage and how to connect."""

    room: RoomInfo
    you: StageMember
    stage: list[StageMember]
    audience: Audience
    slots: int
    slot_holders: list[SlotHolder]
    ice_servers: list[IceServerInfo]
    seq: int


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


class Pong(Message):
    type: Literal["pong"] = "pong"
    re: str


class Error(Message):
    type: Literal["error"] = "error"
    re: str | None = None
    code: str
    message: str


class StageEvent(Message):
    type: Literal["stage"] = "stage"
    seq: int
    stage: list[StageMember]


class AudienceEvent(Message):
    type: Literal["audience"] = "audience"
    count: int


class SlotsEvent(Message):
    type: Literal["slots"] = "slots"
    slots: list[SlotHolder]


class RoomEndedEvent(Message):
    type: Literal["room_ended"] = "room_ended"
    seq: int


ServerMessage = Annotated[
    Union[Joined, Answer, Ok, Pong, Error, StageEvent, AudienceEvent, SlotsEvent, RoomEndedEvent],
    Field(discriminator="type"),
]
server_message_adapter: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def encode(message: Message) -> str:
    return message.model_dump_json(exclude_none=False)


def decode_server_message(data: str | bytes) -> Message:
    return server_message_adapter.validate_json(data)
