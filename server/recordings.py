"""Recording rooms. The host switches recording on and off in the room (`set_recording`, kept in
the room's hash); the node that is the room's origin, the one that sees each slot packet once,
writes it: a `Recorder` (server/media/recorder.py) on the room's Forwarder, files under
`<data dir>/recordings/<room>/<recording>/slot<i>.ogg`, facts and timeline in Redis.

Who may listen: the host, and the club's members for a club's room, or those who were in the
room for any other; the host and the club's hosts may delete one.

Every node checks each second the rooms it forwards: an origin whose room wants recording and
has no recorder starts one, and one whose room no longer does (switched off, ended, or the room
moved to another origin) finishes it. So a recording survives its node's death as two
recordings: the new origin starts the next one within a couple of seconds. Nodes on several
machines need the data directory's `recordings` folder on storage they share.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from server.domain.ids import new_id
from server.domain.recording import Recording
from server.domain.room import Identity, Room
from server.media.forwarder import Forwarder
from server.media.recorder import Recorder
from server.media.router import MediaRouter
from server.state.clubs import ClubStore
from server.state.recordings import RecordingStore
from server.state.storage import TRANSIENT, every
from vocabulary.errors import DropinError, ErrorCode

log = logging.getLogger(__name__)

CHECK_S = 1.0


@dataclass
class _Writing:
    recording: Recording
    recorder: Recorder
    forwarder: Forwarder
    written: int = 0  # moments of the timeline already in Redis


class Recordings:
    """Starts and finishes this node's recordings of the rooms it is the origin of."""

    def __init__(self, store: RecordingStore, clubs: ClubStore, router: MediaRouter, folder: Path) -> None:
        self.store = store
        self._clubs = clubs
        self.folder = folder
        self._router = router
        self._writing: dict[str, _Writing] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(every(CHECK_S, self._check, "recordings"), name="recordings")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for room_id in list(self._writing):
            await self._finish(room_id)

    def files(self, room_id: str, recording_id: str) -> Path:
        return self.folder / room_id / recording_id

    async def sync(self, room_id: str) -> None:
        """Start or finish recording `room_id` here, as its state and this node's place say (if
        Redis can't say, the next check does)."""
        try:
            await self._sync(room_id)
        except TRANSIENT as exc:
            log.warning("room %s: recording not checked: Redis unreachable (%s)", room_id, exc)

    async def _sync(self, room_id: str) -> None:
        forwarder = self._router.rooms().get(room_id)
        writing = self._writing.get(room_id)
        if writing is not None and writing.forwarder is not forwarder:
            await self._finish(room_id)
        wanted, club_id = (False, None)
        if forwarder is not None and forwarder.edges is not None:  # this node is the room's origin
            wanted, club_id = await self.store.wanted(room_id)
        if wanted and forwarder is not None and room_id not in self._writing:
            await self._begin(room_id, forwarder, club_id)
        elif not wanted and room_id in self._writing:
            await self._finish(room_id)
        elif (writing := self._writing.get(room_id)) is not None:
            writing.recorder.keep_up()
            await self._store_moments(writing)

    async def of_room(self, room: Room, viewer: Identity | None) -> list[Recording]:
        """The room's recordings, if `viewer` may listen to them."""
        if viewer is None:
            raise DropinError(ErrorCode.UNAUTHORIZED, "a room's recordings are for those who may hear them: sign in")
        if not await self._may_listen(room, viewer):
            raise DropinError(ErrorCode.FORBIDDEN, "a club room's recordings are for its members, and any other "
                                                   "room's for those who were in it")
        return await self.store.of_room(room.id)

    async def may_delete(self, room: Room, caller: Identity) -> bool:
        if caller.id == room.host.id:
            return True
        return room.club_id is not None and (await self._clubs.membership(room.club_id, caller.id)).host

    async def delete(self, room: Room, recording_id: str, caller: Identity) -> None:
        """Delete a recording, its files and what Redis has of it (the host or a club host only)."""
        recording = await self.store.get(room.id, recording_id)
        if not await self.may_delete(room, caller):
            raise DropinError(ErrorCode.FORBIDDEN, "only the room's host or its club's hosts can delete a recording")
        if recording.seconds is None and room.status == "live":
            raise DropinError(ErrorCode.INVALID_MESSAGE, "that recording is still being made: stop recording first")
        await self.store.delete(room.id, recording.id, room.club_id)
        await asyncio.to_thread(shutil.rmtree, self.files(room.id, recording.id), True)

    async def of_club(self, club_id: str, viewer: Identity | None) -> list[tuple[str, Recording]]:
        """(room id, recording) of the club's latest recordings, newest first, for its members."""
        if viewer is None or not (await self._clubs.membership(club_id, viewer.id)).member:
            raise DropinError(ErrorCode.FORBIDDEN, "a club's recordings are for its members")
        entries = await self.store.of_club(club_id)
        rooms = {room_id: {recording.id: recording for recording in await self.store.of_room(room_id)}
                 for room_id in dict.fromkeys(room_id for room_id, _ in entries)}  # each room read once
        return [(room_id, rooms[room_id][id]) for room_id, id in entries if id in rooms[room_id]]

    async def _may_listen(self, room: Room, viewer: Identity) -> bool:
        if viewer.id == room.host.id:
            return True
        if room.club_id is not None:
            return (await self._clubs.membership(room.club_id, viewer.id)).member
        return await self.store.was_there(room.id, viewer.id)

    async def _check(self) -> bool:
        for room_id in set(self._router.rooms()) | set(self._writing):
            await self._sync(room_id)
        return False

    async def _begin(self, room_id: str, forwarder: Forwarder, club_id: str | None) -> None:
        recording = Recording(id=new_id(), room_id=room_id, started_at=time.time(), slots=len(forwarder.slots))
        recorder = Recorder(self.files(room_id, recording.id), len(forwarder.slots))
        self._writing[room_id] = _Writing(recording, recorder, forwarder)
        forwarder.record(recorder)
        log.info("room %s: recording %s", room_id, recording.id)
        await self.store.begin(recording, club_id)

    async def _finish(self, room_id: str) -> None:
        writing = self._writing.pop(room_id)
        if writing.forwarder.recorder is writing.recorder:
            writing.forwarder.record(None)
        seconds = await asyncio.to_thread(writing.recorder.close)
        started = writing.recording.started_at
        finished = Recording(id=writing.recording.id, room_id=room_id, started_at=started,
                             slots=writing.recording.slots, ended_at=started + seconds, seconds=round(seconds, 3))
        log.info("room %s: recording %s finished, %.1f s", room_id, finished.id, seconds)
        try:
            await self._store_moments(writing)
            await self.store.finish(finished)
        except TRANSIENT as exc:
            log.warning("room %s: recording %s finished, but Redis can't be told (%s)", room_id, finished.id, exc)

    async def _store_moments(self, writing: _Writing) -> None:
        moments = writing.recorder.moments[writing.written:]
        if not moments:
            return
        room_id = writing.recording.room_id
        named = {id for moment in moments for id in (*moment.holders, *moment.speaking) if id is not None}
        names = await self.store.member_names(room_id, sorted(named))
        await self.store.add_moments(room_id, writing.recording.id, moments, names)
        writing.written += len(moments)
