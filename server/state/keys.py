"""The Redis key scheme. Every key Dropin writes is named here (documented in docs/architecture.md)."""

from __future__ import annotations

PREFIX = "dropin"

LIVE_ROOMS = f"{PREFIX}:rooms:live"
"""Sorted set: ids of live rooms, scored by creation time (unix seconds)."""


def room(room_id: str) -> str:
    """Hash: id, title, description, host_id, host_name, status, created_at, ended_at, seq, and the
    settings allow_direct_stage, speakers_may_unmute, invite_ttl_s."""
    return f"{PREFIX}:room:{room_id}"


def members(room_id: str) -> str:
    """Hash: member id -> JSON {id, name, role, joined_at, since, muted, muted_by}."""
    return f"{PREFIX}:room:{room_id}:members"


def counts(room_id: str) -> str:
    """Hash: role -> number of members in the room with that role."""
    return f"{PREFIX}:room:{room_id}:counts"


def log(room_id: str) -> str:
    """Stream: the room event log. Entry id is `<seq>-0`; field `event` is the event's JSON."""
    return f"{PREFIX}:room:{room_id}:log"


def stage(room_id: str) -> str:
    """Sorted set: ids of members on stage, scored by when they got their current role."""
    return f"{PREFIX}:room:{room_id}:stage"


def audience(room_id: str) -> str:
    """Sorted set: ids of listeners, scored by when they joined."""
    return f"{PREFIX}:room:{room_id}:audience"


def hands(room_id: str) -> str:
    """Sorted set: ids of listeners with a raised hand, scored by when they raised it."""
    return f"{PREFIX}:room:{room_id}:hands"


def invites(room_id: str) -> str:
    """Hash: member id -> JSON {by: {id, name}, expires_at} for pending stage invitations."""
    return f"{PREFIX}:room:{room_id}:invites"


def bans(room_id: str) -> str:
    """Hash: identity id -> unix time the ban ends, or 0 for the room's lifetime."""
    return f"{PREFIX}:room:{room_id}:bans"


def room_keys(room_id: str) -> list[str]:
    """The keys one room's transitions touch, in the order server/state/lua/lib.lua names them."""
    return [
        room(room_id), members(room_id), counts(room_id), log(room_id), LIVE_ROOMS,
        stage(room_id), audience(room_id), hands(room_id), invites(room_id), bans(room_id),
    ]
