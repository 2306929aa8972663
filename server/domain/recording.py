"""A room's recording: what was kept of it, and its timeline of who held which slot."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Moment:
    """From `at` seconds into a recording: who held each slot (member ids), who was speaking."""

    at: float
    holders: tuple[str | None, ...]
    speaking: tuple[str, ...]


@dataclass(frozen=True)
class Recording:
    """One stretch of a room's audio, a file per slot: from when the host switched recording on
    (or the node writing it took over) to when it was switched off or the room ended. `seconds`
    is None while it is being written."""

    id: str
    room_id: str
    started_at: float
    slots: int
    ended_at: float | None = None
    seconds: float | None = None
    moments: list[Moment] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # member id -> name, for those the moments name
