"""What each role in a room may do with its voice. Pure rules: no I/O."""

from __future__ import annotations

from server.domain.room import ON_STAGE, Role


def is_on_stage(role: Role) -> bool:
    return role in ON_STAGE


def may_speak(role: Role) -> bool:
    """Whether the media plane forwards this member's audio."""
    return role in ON_STAGE

