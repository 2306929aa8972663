"""Who is in which room through this node: one seat per member's current websocket session.

In memory only; Redis knows every member of a room, this knows which of them this node serves
(and on which connection: `conn`, the id Redis keeps with the member, so a leave or a timer can
tell whether the member has come back on another connection since).
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.room import Role
from signaling.session import Session


@dataclass
class Seat:
    session: Session
    room_id: str
    member_id: str
    name: str
    role: Role
    conn: str


class Seats:
    def __init__(self) -> None:
        self._by_room: dict[str, dict[str, Seat]] = {}
        self._by_session: dict[Session, Seat] = {}

    def take(self, seat: Seat) -> Seat | None:
        """Seat a member; returns the seat their previous session on this node had, if any."""
        previous = self._by_room.setdefault(seat.room_id, {}).get(seat.member_id)
        if previous is not None:
            del self._by_session[previous.session]
        self._by_room[seat.room_id][seat.member_id] = seat
        self._by_session[seat.session] = seat
        return previous

    def of(self, session: Session) -> Seat | None:
        """The session's seat, if it is its member's current session in a room."""
        return self._by_session.get(session)

    def member(self, room_id: str, member_id: str) -> Seat | None:
        return self._by_room.get(room_id, {}).get(member_id)

    def in_room(self, room_id: str) -> list[Seat]:
        return list(self._by_room.get(room_id, {}).values())

    def rooms(self) -> list[str]:
        return [room_id for room_id, seats in self._by_room.items() if seats]

    def seated(self) -> list[tuple[str, str, str]]:
        """(room id, member id, connection id) of everyone seated."""
        return [(seat.room_id, seat.member_id, seat.conn) for seat in self._by_session.values()]

    def free(self, session: Session) -> Seat | None:
        """Unseat the session; its seat, or None if it was not seated (replaced, or gone)."""
        seat = self._by_session.pop(session, None)
        if seat is not None:
            seats = self._by_room[seat.room_id]
            del seats[seat.member_id]
            if not seats:
                del self._by_room[seat.room_id]
        return seat

    def clear(self, room_id: str) -> list[Seat]:
        """Unseat everyone in the room; their seats."""
        seats = list(self._by_room.pop(room_id, {}).values())
        for seat in seats:
            del self._by_session[seat.session]
        return seats
