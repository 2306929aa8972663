"""Roles in a room and what each may do. Pure rules: no I/O."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    HOST = "host"
    MODERATOR = "moderator"
    SPEAKER = "speaker"
    LISTENER = "listener"


ON_STAGE = frozenset({Role.HOST, Role.MODERATOR, Role.SPEAKER})


def is_on_stage(role: Role) -> bool:
    return role in ON_STAGE


def may_speak(role: Role) -> bool:
    """Whether the media plane forwards this member's audio."""
    return role in ON_STAGE

