"""Roles in a room and what each may do. Pure rules: no I/O."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    HOST = "host"
    MODERATOR = "moderator"
    SPEAKER = "speaker"
    LISTENER = "listener"


ON_STAGE = frozenset({Role.HOST, Role.MODERATOR, Role.SPEAKER})


def role_on_join(member_id: str, host_id: str) -> Role:
    """The room's creator joins as its host; everyone else drops in as a listener."""
    return Role.HOST if member_id == host_id else Role.LISTENER


def is_on_stage(role: Role) -> bool:
    return role in ON_STAGE


def may_speak(role: Role) -> bool:
    """Whether the media plane forwards this member's audio."""
    return role in ON_STAGE


def may_end_room(role: Role | None, member_id: str, host_id: str) -> bool:
    """Only the room's host ends it."""
    return member_id == host_id or role is Role.HOST
