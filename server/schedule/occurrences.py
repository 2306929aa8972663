"""An occurrence's status and opening window, worked out from the clock when it is read."""

from __future__ import annotations

from typing import Literal

from vocabulary.errors import DropinError, ErrorCode

Status = Literal["scheduled", "starting_soon", "live", "ended", "missed"]


def status(starts_at: float, ends_at: float, now: float, early_open_s: float, room_status: str | None) -> Status:
    """`live`/`ended` follow the room opened for the occurrence. Without one: `scheduled` until
    `early_open_s` before the start, then `starting_soon` (it can be opened) until its end, then `missed`."""
    if room_status == "live":
        return "live"
    if room_status == "ended":
        return "ended"
    if now >= ends_at:
        return "missed"
    if now >= starts_at - early_open_s:
        return "starting_soon"
    return "scheduled"


def check_open_window(starts_at: float, ends_at: float, now: float, early_open_s: float) -> None:
    """Refuse opening an occurrence's room before `early_open_s` ahead of its start or after its end."""
    if now < starts_at - early_open_s:
        when = f"{round(early_open_s / 60)} minutes before it starts" if early_open_s >= 60 else "its start"
        raise DropinError(ErrorCode.NOT_OPEN_YET, f"this occurrence can be opened from {when}")
    if now >= ends_at:
        raise DropinError(ErrorCode.OCCURRENCE_OVER, "this occurrence is over")
