"""The Redis key scheme. Every key Dropin writes is named here (documented in docs/architecture.md)."""

from __future__ import annotations

PREFIX = "dropin"

LIVE_ROOMS = f"{PREFIX}:rooms:live"
"""Sorted set: ids of live rooms, scored by creation time (unix seconds)."""


def room(room_id: str) -> str:
    """Hash: id, title, description, host_id, host_name, status, created_at, ended_at, seq."""
    return f"{PREFIX}:room:{room_id}"


def members(room_id: str) -> str:
    """Hash: member id -> JSON {id, name, role, joined_at} for everyone in the room now."""
    return f"{PREFIX}:room:{room_id}:members"


def stage(room_id: str) -> str:
    """Hash: member id -> JSON {id, name, role, joined_at} for members on stage (a subset of members)."""
    return f"{PREFIX}:room:{room_id}:stage"


def counts(room_id: str) -> str:
    """Hash: role -> number of members in the room with that role."""
    return f"{PREFIX}:room:{room_id}:counts"


def log(room_id: str) -> str:
    """Stream: the room's event log; each entry has seq, type and a JSON data field."""
    return f"{PREFIX}:room:{room_id}:log"


def room_keys(room_id: str) -> list[str]:
    """The keys one room's transitions touch, in the order the Lua scripts expect."""
    return [room(room_id), members(room_id), counts(room_id), log(room_id), LIVE_ROOMS, stage(room_id)]
