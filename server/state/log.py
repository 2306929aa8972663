"""The room log in Redis: one stream per room, one entry per event, its id the room's sequence
number. The Lua transitions append entries; this module reads them back as domain events.

Each entry carries the version of its format in a `v` field, so what is stored can outlive the
wire and the domain types:
- 1 (no `v` field; entries written before versions): the event as the wire sent it, `seq` inside.
- 2: the event's fields without `seq`, which is the entry's id.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, cast

from pydantic import Field, TypeAdapter
from redis.asyncio import Redis

from server.domain.events import RoomEvent
from server.state import keys
from server.state.storage import TRANSIENT

log = logging.getLogger(__name__)

VERSION = 2  # what server/state/lua/lib.lua writes
REPLAY_LIMIT = 500  # the most events a reconnecting member is sent instead of a fresh snapshot
BLOCK_MS = 2000  # under redis-py's read timeout; an idle feed wakes this often
RETRY_S = 0.5  # how often a feed tries again while Redis is unreachable

Entries = list[tuple[str, dict[str, str]]]  # stream entries as our clients decode them: (id, fields)
_EVENT: TypeAdapter[RoomEvent] = TypeAdapter(Annotated[RoomEvent, Field(discriminator="type")])


class UnknownLogVersion(ValueError):
    """An entry written by a newer Dropin than this one."""


def read_entry(entry_id: str, fields: dict[str, str]) -> RoomEvent:
    """The event stored as one stream entry (its id and its fields)."""
    version = int(fields.get("v", "1"))
    if version not in (1, VERSION):
        raise UnknownLogVersion(f"log entry {entry_id} has format version {version}; this node reads 1 to {VERSION}")
    stored = json.loads(fields["event"])
    stored["seq"] = int(entry_id.split("-", 1)[0])  # version 1 has it inside too; the id is the same number
    return _EVENT.validate_python(stored)


async def events_since(redis: Redis, room_id: str, last_seq: int, upto: int) -> list[RoomEvent] | None:
    """The room's events after `last_seq` up to `upto`, or None if the log no longer has them all."""
    if upto - last_seq > REPLAY_LIMIT:
        return None
    entries = cast(Entries, await redis.xrange(keys.log(room_id), f"{last_seq + 1}-0", f"{upto}-0"))
    if len(entries) != upto - last_seq:
        return None
    return [read_entry(entry_id, fields) for entry_id, fields in entries]


class RoomFeed:
    """Tails one room's log from Redis and hands each event, in order, to `apply`."""

    def __init__(
        self, redis: Redis, room_id: str, after_seq: int, apply: Callable[[RoomEvent], Awaitable[None]]
    ) -> None:
        self.room_id = room_id
        self.position = after_seq
        self._redis = redis
        self._apply = apply
        self._task = asyncio.create_task(self._run(), name=f"feed {room_id}")

    async def _run(self) -> None:
        stream = keys.log(self.room_id)
        task = asyncio.current_task()
        assert task is not None
        unreachable = False
        while not task.cancelling():
            try:
                read = await self._redis.xread({stream: f"{self.position}-0"}, block=BLOCK_MS, count=100)
                batches = cast(list[tuple[str, Entries]], read)
            except Exception as exc:
                # redis-py turns a cancellation during a read into its own TimeoutError.
                if task.cancelling():
                    raise asyncio.CancelledError from None
                if not isinstance(exc, TRANSIENT):
                    log.exception("reading the log of room %s", self.room_id)
                elif not unreachable:
                    log.warning("room %s: Redis unreachable (%s); its feed resumes when it is back", self.room_id, exc)
                unreachable = True
                await asyncio.sleep(RETRY_S)
                continue
            if unreachable:
                unreachable = False
                log.warning("room %s: Redis is back; feed resumed at seq %d", self.room_id, self.position)
            for _, entries in batches:
                for entry_id, fields in entries:
                    self.position = int(entry_id.split("-", 1)[0])
                    try:
                        await self._apply(read_entry(entry_id, fields))
                    except Exception:
                        log.exception("applying log entry %s of room %s", entry_id, self.room_id)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
