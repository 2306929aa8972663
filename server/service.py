"""The RoomService: what members and the REST API do to rooms, applied to Redis (RoomStore), the
media plane (MediaRouter) and the members' websockets on this node.

Listeners drop in and out without fanfare: their arrivals only mark the audience count, which is
broadcast at most every `audience_batch_s`. Changes to the stage are broadcast at once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

from aiortc import RTCIceServer

from server.config import Settings
from server.identity import Identity, TokenIssuer
from server.media.forwarder import MemberId
from server.media.router import MediaRouter
from server.rules.roles import is_on_stage, may_speak
from server.state.rooms import Room, RoomStore
from signaling import messages as m
from signaling.errors import DropinError, ErrorCode
from signaling.session import Session

log = logging.getLogger(__name__)


def iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


def room_info(room: Room) -> m.RoomInfo:
    return m.RoomInfo(
        id=room.id,
        title=room.title,
        description=room.description,
        host=m.Person(id=room.host.id, name=room.host.name),
        status=room.status,
        created_at=iso(room.created_at),
        ended_at=iso(room.ended_at),
    )


class RoomService:
    """Implements signaling's RoomGateway, and the room actions the REST API exposes."""

    def __init__(self, store: RoomStore, tokens: TokenIssuer, settings: Settings) -> None:
        self.store = store
        self.tokens = tokens
        self.settings = settings
        self.router = MediaRouter(
            ice_servers=[
                RTCIceServer(urls=server.urls, username=server.username, credential=server.credential)
                for server in settings.ice_servers
            ],
            slot_count=settings.slots,
            on_slots_changed=self._slots_changed,
        )
        self._sessions: dict[str, dict[str, Session]] = {}
        self._audience_dirty: set[str] = set()
        self._batcher: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._batcher = asyncio.create_task(self._broadcast_audience())

    async def stop(self) -> None:
        if self._batcher is not None:
            self._batcher.cancel()
        for sessions in self._sessions.values():
            for session in sessions.values():
                session.close()
        await self.router.close()

    # RoomGateway

    async def join(self, session: Session, room_id: str, token: str) -> m.Welcome:
        identity = self.tokens.verify(token)
        joined = await self.store.join(room_id, identity)
        member = joined.member
        sessions = self._sessions.setdefault(room_id, {})
        previous = sessions.get(member.id)
        sessions[member.id] = session
        if previous is not None and previous is not session:
            previous.error(None, ErrorCode.SESSION_REPLACED, "you joined this room from somewhere else")
            previous.close()
        self.router.allow(room_id, member.id, may_speak(member.role))
        room = await self.store.get(room_id)
        stage = await self._stage(room_id)
        if is_on_stage(member.role):
            if joined.is_new:
                self._broadcast(room_id, m.StageEvent(seq=joined.seq, stage=stage), skip=session)
        else:
            self._audience_dirty.add(room_id)
        return m.Welcome(
            room=room_info(room),
            you=m.StageMember(id=member.id, name=member.name, role=member.role.value),
            stage=stage,
            audience=m.Audience(count=room.listeners),
            slots=self.settings.slots,
            slot_holders=self._slot_holders(room_id, self.router.forwarder(room_id).assignment()),
            ice_servers=[m.IceServerInfo(**server.model_dump()) for server in self.settings.ice_servers],
            seq=room.seq,
        )

    async def negotiate(self, session: Session, sdp: str) -> str:
        room_id, member_id = self._current(session)
        return await self.router.negotiate(room_id, member_id, sdp)

    async def add_candidate(
        self, session: Session, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        room_id, member_id = self._current(session)
        await self.router.add_candidate(room_id, member_id, candidate, sdp_mid, sdp_mline_index)

    async def leave(self, session: Session) -> None:
        """Leave quietly; a no-op for a session that was replaced or whose room has ended."""
        room_id, member_id = session.room_id, session.member_id
        sessions = self._sessions.get(room_id or "", {})
        if member_id is None or sessions.get(member_id) is not session:
            return
        del sessions[member_id]
        if not sessions:
            del self._sessions[room_id]
        await self.router.remove(room_id, member_id)
        left = await self.store.leave(room_id, member_id)
        if left is None:
            return
        role, seq = left
        if is_on_stage(role):
            self._broadcast(room_id, m.StageEvent(seq=seq, stage=await self._stage(room_id)))
        else:
            self._audience_dirty.add(room_id)

    # REST actions

    async def end_room(self, room_id: str, actor: Identity) -> Room:
        seq = await self.store.end(room_id, actor)
        for session in self._sessions.pop(room_id, {}).values():
            session.send(m.RoomEndedEvent(seq=seq))
            session.close()
        self._audience_dirty.discard(room_id)
        await self.router.close_room(room_id)
        return await self.store.get(room_id)

    # Internals

    def _current(self, session: Session) -> tuple[str, str]:
        room_id, member_id = session.room_id, session.member_id
        if member_id is None or self._sessions.get(room_id or "", {}).get(member_id) is not session:
            raise DropinError(ErrorCode.NOT_JOINED, "you are no longer in this room")
        return room_id, member_id  # type: ignore[return-value]

    async def _stage(self, room_id: str) -> list[m.StageMember]:
        return [m.StageMember(**member.public()) for member in await self.store.stage(room_id)]

    def _broadcast(self, room_id: str, message: m.Message, skip: Session | None = None) -> None:
        for session in self._sessions.get(room_id, {}).values():
            if session is not skip:
                session.send(message)

    def _slot_holders(self, room_id: str, holders: list[MemberId | None]) -> list[m.SlotHolder]:
        sessions = self._sessions.get(room_id, {})
        slots = []
        for index, holder in enumerate(holders):
            session = sessions.get(holder) if holder is not None else None
            speaker = m.Person(id=str(holder), name=session.name or "") if session else None
            slots.append(m.SlotHolder(slot=index, speaker=speaker))
        return slots

    def _slots_changed(self, room_id: str, holders: list[MemberId | None]) -> None:
        self._broadcast(room_id, m.SlotsEvent(slots=self._slot_holders(room_id, holders)))

    async def _broadcast_audience(self) -> None:
        """Every few seconds, tell rooms whose audience changed how many are listening."""
        while True:
            await asyncio.sleep(self.settings.audience_batch_s)
            dirty, self._audience_dirty = self._audience_dirty, set()
            for room_id in dirty:
                try:
                    room = await self.store.get(room_id)
                except DropinError:
                    continue
                self._broadcast(room_id, m.AudienceEvent(count=room.listeners))
