"""Room routes: create, list live rooms, read one with its member counts, end (host only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field, StringConstraints

from server import wire
from server.api.deps import Caller, RequestBody, Service
from server.api.docs import text_body
from server.api.errors import BODY, SIGNED_IN, STORE, errors
from server.domain.room import Role, Room, RoomSettings
from server.roundup import Roundup
from signaling.messages import MAX_SLOTS, Person, RoomInfo
from vocabulary.errors import ErrorCode

router = APIRouter(prefix="/api/rooms", tags=["rooms"])

RoomIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
A_ROOM = (ErrorCode.INVALID_MESSAGE, ErrorCode.ROOM_NOT_FOUND, *STORE)  # what naming a room can answer


class SettingsIn(RequestBody):
    allow_direct_stage: bool = RoomSettings.allow_direct_stage
    speakers_may_unmute: bool = RoomSettings.speakers_may_unmute
    slots: int | None = Field(
        default=None, ge=1, le=MAX_SLOTS, description="speakers heard at once; the server's default if omitted"
    )


class RoomCreate(RequestBody):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    settings: SettingsIn = SettingsIn()


class AudiencePage(BaseModel):
    count: int
    members: list[Person]


class RoomOut(RoomInfo):
    counts: dict[str, int]
    listeners: int
    on_stage: int


class RoomList(BaseModel):
    rooms: list[RoomOut]


def room_out(room: Room) -> RoomOut:
    counts = {role.value: room.counts.get(role, 0) for role in Role}
    return RoomOut(**dict(wire.room_info(room)), counts=counts, listeners=room.listeners, on_stage=room.on_stage)


@router.post(
    "", status_code=201, response_model=RoomOut, summary="Open a room", responses=errors(*SIGNED_IN, *BODY, *STORE)
)
async def create_room(body: RoomCreate, caller: Caller, service: Service) -> RoomOut:
    """Open a live room; you are its host."""
    settings = RoomSettings(
        **body.settings.model_dump(exclude={"slots"}),
        invite_ttl_s=service.settings.invite_ttl_s,
        slots=body.settings.slots or service.settings.slots,
    )
    return room_out(await service.store.create(caller, body.title, body.description, settings))


@router.get("", response_model=RoomList, summary="List live rooms", responses=errors(*STORE))
async def live_rooms(service: Service) -> RoomList:
    """Rooms that are live now, newest first."""
    return RoomList(rooms=[room_out(room) for room in await service.store.live()])


@router.get("/{room_id}", response_model=RoomOut, summary="Read a room", responses=errors(*A_ROOM))
async def get_room(room_id: RoomIdPath, service: Service) -> RoomOut:
    """One room, live or ended, with how many members it has in each role."""
    return room_out(await service.store.get(room_id))


@router.get(
    "/{room_id}/audience", response_model=AudiencePage, summary="Page through the audience", responses=errors(*A_ROOM)
)
async def audience(
    room_id: RoomIdPath, service: Service, offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AudiencePage:
    """The room's listeners, in the order they arrived, a page at a time."""
    await service.store.get(room_id)
    count, members = await service.store.audience_page(room_id, offset, limit)
    return AudiencePage(count=count, members=[wire.person(p) for p in members])


class Notes(RequestBody):
    notes: Annotated[str, StringConstraints(max_length=20_000)]


@router.get("/{room_id}/roundup", response_model=Roundup, summary="Read the round-up", responses=errors(*A_ROOM))
async def roundup(room_id: RoomIdPath, service: Service) -> Roundup:
    """The room's round-up: when, who listened, who spoke and for how long, hands, questions, notes."""
    return await service.roundup(room_id)


@router.get(
    "/{room_id}/roundup.md", response_class=Response, summary="Download the round-up as Markdown",
    responses={**text_body("text/markdown", "the round-up, as an attachment"), **errors(*A_ROOM)},
)
async def roundup_markdown(room_id: RoomIdPath, service: Service, chat: bool = False) -> PlainTextResponse:
    """The round-up as Markdown, to paste into a newsletter or a community post; `chat=true` adds
    the room's whole chat."""
    text = (await service.roundup(room_id)).to_markdown(with_chat=chat)
    return PlainTextResponse(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="roundup-{room_id}.md"'},
    )


@router.put(
    "/{room_id}/notes", response_model=Notes, summary="Write the host's notes",
    responses=errors(*SIGNED_IN, *BODY, ErrorCode.ROOM_NOT_FOUND, ErrorCode.FORBIDDEN, *STORE),
)
async def set_notes(room_id: RoomIdPath, body: Notes, caller: Caller, service: Service) -> Notes:
    """The host's notes, shown in the round-up."""
    return Notes(notes=await service.store.set_notes(room_id, caller, body.notes))


@router.post(
    "/{room_id}/end", response_model=RoomOut, summary="End a room",
    responses=errors(*SIGNED_IN, *A_ROOM, ErrorCode.ROOM_ENDED, ErrorCode.FORBIDDEN),
)
async def end_room(room_id: RoomIdPath, caller: Caller, service: Service) -> RoomOut:
    """End the room for everyone. Only its host may."""
    await service.end_room(room_id, caller)
    return room_out(await service.store.get(room_id))
