"""Event series in Redis: scheduled, usually recurring rooms, with per-occurrence themes, RSVPs and
the room opened for each occurrence.

An occurrence is named by its local date (a series meets at most once a day). Nothing runs in
the background: an occurrence's status is worked out when it is read (server/schedule/).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from redis.asyncio import Redis

from server.domain.recurrence import Recurrence, Schedule
from server.domain.room import Identity
from server.domain.series import Series
from server.state import keys
from vocabulary.errors import DropinError, ErrorCode

OPENING_CLAIM_MS = 15_000


@dataclass(frozen=True)
class Annotation:
    """What is stored about one occurrence."""

    theme: str | None
    room_id: str | None
    room_status: str | None
    rsvp_count: int
    you_rsvped: bool


def _series(fields: dict[str, str]) -> Series:
    return Series(
        id=fields["id"],
        club_id=fields["club_id"] or None,
        title=fields["title"],
        agenda=fields["agenda"],
        schedule=Schedule(
            timezone=fields["timezone"],
            start=datetime.fromisoformat(fields["start"]),
            duration=timedelta(minutes=int(fields["duration_minutes"])),
            recurrence=Recurrence.from_dict(json.loads(fields["recurrence"])),
        ),
        host=Identity(fields["host_id"], fields["host_name"]),
        cohosts=tuple(Identity(c["id"], c["name"]) for c in json.loads(fields["cohosts"])),
        visibility=fields["visibility"],
        created_at=float(fields["created_at"]),
    )


class EventStore:
    """Reads and changes event series in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def create(self, series: Series) -> None:
        schedule = series.schedule
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.event(series.id), mapping={
                "id": series.id,
                "club_id": series.club_id or "",
                "title": series.title,
                "agenda": series.agenda,
                "timezone": schedule.timezone,
                "start": schedule.start.isoformat(timespec="minutes"),
                "duration_minutes": int(schedule.duration.total_seconds() // 60),
                "host_id": series.host.id,
                "host_name": series.host.name,
                "cohosts": json.dumps([{"id": c.id, "name": c.name} for c in series.cohosts]),
                "visibility": series.visibility,
                "recurrence": json.dumps(schedule.recurrence.as_dict()),
                "created_at": series.created_at,
            })
            pipe.zadd(keys.SERIES_BY_END, {series.id: schedule.last_end.timestamp()})
            if series.club_id:
                pipe.zadd(keys.club_events(series.club_id), {series.id: series.created_at})
            await pipe.execute()

    async def get(self, event_id: str) -> Series:
        # The clients decode replies (decode_responses=True, storage.py): fields and values are str.
        fields = cast(dict[str, str], await self.redis.hgetall(keys.event(event_id)))
        if not fields:
            raise DropinError(ErrorCode.EVENT_NOT_FOUND, "there is no such event")
        return _series(fields)

    async def many(self, event_ids: Sequence[str]) -> list[Series]:
        """The series with these ids that exist, in the same order."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for event_id in event_ids:
                pipe.hgetall(keys.event(event_id))
            found = await pipe.execute()
        return [_series(fields) for fields in found if fields]

    async def of_club(self, club_id: str) -> list[Series]:
        """The club's series, oldest first."""
        # Decoded replies (decode_responses=True, storage.py), and no scores asked for: ids are str.
        return await self.many(cast(list[str], await self.redis.zrange(keys.club_events(club_id), 0, -1)))

    async def ending_after(self, when: float) -> list[Series]:
        """Series with an occurrence that ends after `when` (unix seconds)."""
        # Decoded replies (decode_responses=True, storage.py), and no scores asked for: ids are str.
        return await self.many(cast(list[str], await self.redis.zrangebyscore(keys.SERIES_BY_END, when, "+inf")))

    async def guest_of(self, event_ids: Sequence[str], identity_id: str) -> list[bool]:
        """For each event, whether `identity_id` was let in by an invite link."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for event_id in event_ids:
                pipe.sismember(keys.event_guests(event_id), identity_id)
            return [bool(found) for found in await pipe.execute()]

    async def annotations(self, occurrences: Sequence[tuple[str, str]], identity_id: str | None) -> list[Annotation]:
        """Theme, room (and its status) and RSVPs of each (event id, date) occurrence."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for event_id, day in occurrences:
                pipe.hget(keys.event_themes(event_id), day)
                pipe.hget(keys.event_rooms(event_id), day)
                pipe.hlen(keys.event_rsvps(event_id, day))
                if identity_id is not None:
                    pipe.hexists(keys.event_rsvps(event_id, day), identity_id)
            found = await pipe.execute()
        width = 4 if identity_id is not None else 3
        rows = [found[i:i + width] + [False] * (4 - width) for i in range(0, len(found), width)]
        room_ids = [room_id for _, room_id, _, _ in rows if room_id]
        async with self.redis.pipeline(transaction=False) as pipe:
            for room_id in room_ids:
                pipe.hget(keys.room(room_id), "status")
            statuses = dict(zip(room_ids, await pipe.execute()))
        return [
            Annotation(theme, room_id, statuses.get(room_id), count, bool(yours))
            for theme, room_id, count, yours in rows
        ]

    async def set_theme(self, event_id: str, day: str, theme: str | None) -> None:
        if theme is None:
            await self.redis.hdel(keys.event_themes(event_id), day)
        else:
            await self.redis.hset(keys.event_themes(event_id), day, theme)

    async def themes(self, event_id: str) -> dict[str, str]:
        """Occurrence date -> theme, for every themed occurrence."""
        return cast(dict[str, str], await self.redis.hgetall(keys.event_themes(event_id)))  # decoded replies

    async def rsvp(self, event_id: str, day: str, identity: Identity, interested: bool) -> None:
        if interested:
            await self.redis.hset(keys.event_rsvps(event_id, day), identity.id, identity.name)
        else:
            await self.redis.hdel(keys.event_rsvps(event_id, day), identity.id)

    async def rsvps(self, event_id: str, day: str) -> list[Identity]:
        """Everyone interested in one occurrence."""
        people = cast(dict[str, str], await self.redis.hgetall(keys.event_rsvps(event_id, day)))  # decoded replies
        return sorted((Identity(id, name) for id, name in people.items()), key=lambda p: (p.name.lower(), p.id))

    async def room_of(self, event_id: str, day: str) -> str | None:
        return cast(str | None, await self.redis.hget(keys.event_rooms(event_id), day))  # decoded reply

    async def set_room(self, event_id: str, day: str, room_id: str) -> None:
        await self.redis.hset(keys.event_rooms(event_id), day, room_id)

    async def claim_opening(self, event_id: str, day: str) -> bool:
        """Whether this caller may open the occurrence's room now (one at a time, across nodes)."""
        return bool(await self.redis.set(keys.event_opening(event_id, day), time.time(), nx=True, px=OPENING_CLAIM_MS))

    async def release_opening(self, event_id: str, day: str) -> None:
        await self.redis.delete(keys.event_opening(event_id, day))
