"""An event series: a scheduled, usually recurring room, with who hosts it and who may see it."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.recurrence import Schedule
from server.domain.room import Identity


@dataclass(frozen=True)
class Series:
    """An event series: who hosts it, who may see it, and when it meets."""

    id: str
    club_id: str | None
    title: str
    agenda: str
    schedule: Schedule
    host: Identity
    cohosts: tuple[Identity, ...]
    visibility: str
    created_at: float

    def runs(self, identity_id: str | None) -> bool:
        """Whether `identity_id` is the series' host or one of its co-hosts."""
        return identity_id is not None and (
            identity_id == self.host.id or any(c.id == identity_id for c in self.cohosts)
        )
