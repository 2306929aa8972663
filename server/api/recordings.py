"""Recording routes: a room's recordings with their timelines, their audio files, deleting one,
and a club's recordings (server/recordings.py says who may do what)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel

from server import wire
from server.api.deps import Caller, Service
from server.api.docs import text_body
from server.api.errors import SIGNED_IN, STORE, errors
from server.api.events import IdPath, Viewer
from server.api.rooms import A_ROOM, RoomIdPath
from server.domain.recording import Recording
from server.domain.room import Identity
from signaling.messages import Person, Timestamp, timestamp
from vocabulary.errors import DropinError, ErrorCode

router = APIRouter(tags=["recordings"])
GRANT_S = 6 * 3600  # how long the links to a recording's files work
A_RECORDING = (*A_ROOM, *SIGNED_IN, ErrorCode.FORBIDDEN, ErrorCode.RECORDING_NOT_FOUND)


class Moment(BaseModel):
    """From `at` seconds into the recording: who held each slot, and who was speaking."""

    at: float
    holders: list[Person | None]
    speaking: list[Person]


class RecordingOut(BaseModel):
    id: str
    room_id: str
    started_at: Timestamp
    ended_at: Timestamp | None  # None: still being made, or cut short (its node stopped)
    seconds: float | None
    slots: list[str]  # each slot's Ogg Opus file, to play together in step
    timeline: list[Moment]


class RoomRecordings(BaseModel):
    recordings: list[RecordingOut]
    may_delete: bool


class Deleted(BaseModel):
    id: str


class ClubRecording(BaseModel):
    room_id: str
    title: str
    roundup: str  # the room's round-up page, which plays it
    recording: RecordingOut


class ClubRecordings(BaseModel):
    recordings: list[ClubRecording]


def _resource(room_id: str, recording_id: str) -> str:
    return f"recording:{room_id}/{recording_id}"


def _out(recording: Recording, service: Service) -> RecordingOut:
    grant = service.tokens.grant(_resource(recording.room_id, recording.id), GRANT_S)
    base = f"/api/rooms/{recording.room_id}/recordings/{recording.id}"

    def who(id: str) -> Person:
        return wire.person(Identity(id, recording.names.get(id, "Someone")))

    return RecordingOut(
        id=recording.id, room_id=recording.room_id, started_at=timestamp(recording.started_at),
        ended_at=timestamp(recording.ended_at) if recording.ended_at is not None else None, seconds=recording.seconds,
        slots=[f"{base}/slot{index}.ogg?grant={grant}" for index in range(recording.slots)],
        timeline=[Moment(at=moment.at, holders=[None if id is None else who(id) for id in moment.holders],
                         speaking=[who(id) for id in moment.speaking]) for moment in recording.moments],
    )


@router.get(
    "/api/rooms/{room_id}/recordings", response_model=RoomRecordings, summary="List a room's recordings",
    responses=errors(*A_RECORDING),
)
async def room_recordings(room_id: RoomIdPath, viewer: Viewer, service: Service) -> RoomRecordings:
    """The room's recordings, oldest first, each with a link per slot (valid for six hours) and its
    timeline: for the host, the club's members (a club's room) or those who were in the room."""
    room = await service.store.get(room_id)
    found = await service.recordings.of_room(room, viewer)
    may_delete = viewer is not None and await service.recordings.may_delete(room, viewer)
    return RoomRecordings(recordings=[_out(recording, service) for recording in found], may_delete=may_delete)


@router.get(
    "/api/rooms/{room_id}/recordings/{recording_id}/slot{index}.ogg", response_class=FileResponse,
    summary="Download one slot of a recording",
    responses={**text_body("audio/ogg", "the slot's audio, Ogg Opus"),
               **errors(*A_ROOM, ErrorCode.FORBIDDEN, ErrorCode.RECORDING_NOT_FOUND)},
)
async def recording_file(
    room_id: RoomIdPath, recording_id: IdPath, index: Annotated[int, Path(ge=0, le=15)],
    grant: Annotated[str, Query(max_length=1000)], service: Service,
) -> FileResponse:
    """One slot's audio as Ogg Opus, for the link a listing gave (an `<audio>` element sends no token)."""
    if not service.tokens.granted(grant, _resource(room_id, recording_id)):
        raise DropinError(ErrorCode.FORBIDDEN, "that link to a recording has expired: reload the page for a new one")
    path = service.recordings.files(room_id, recording_id) / f"slot{index}.ogg"
    if not path.is_file():
        raise DropinError(ErrorCode.RECORDING_NOT_FOUND, "there is no such recording")
    return FileResponse(path, media_type="audio/ogg")


@router.delete(
    "/api/rooms/{room_id}/recordings/{recording_id}", response_model=Deleted,
    summary="Delete a recording", responses=errors(*A_RECORDING),
)
async def delete_recording(room_id: RoomIdPath, recording_id: IdPath, caller: Caller, service: Service) -> Deleted:
    """Delete a recording and its files (the room's host, or its club's hosts)."""
    await service.recordings.delete(await service.store.get(room_id), recording_id, caller)
    return Deleted(id=recording_id)


@router.get(
    "/api/clubs/{club_id}/recordings", response_model=ClubRecordings, summary="List a club's recordings",
    responses=errors(*SIGNED_IN, ErrorCode.INVALID_MESSAGE, ErrorCode.FORBIDDEN, *STORE),
)
async def club_recordings(club_id: IdPath, viewer: Viewer, service: Service) -> ClubRecordings:
    """The latest recordings of the club's rooms, newest first (members only)."""
    found = await service.recordings.of_club(club_id, viewer)
    titles = {room_id: (await service.store.get(room_id)).title for room_id in dict.fromkeys(id for id, _ in found)}
    return ClubRecordings(recordings=[
        ClubRecording(room_id=room_id, title=titles[room_id], roundup=f"/rooms/{room_id}/roundup",
                      recording=_out(recording, service))
        for room_id, recording in found
    ])
