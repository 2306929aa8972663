"""Rooms' recordings in Redis: each recording's facts and timeline (the audio is in files, see
server/recordings.py), and the index of a club's recordings."""

from __future__ import annotations

import json
from typing import cast

from redis.asyncio import Redis

from server.domain.recording import Moment, Recording
from server.state import keys
from vocabulary.errors import DropinError, ErrorCode


def _facts(recording: Recording) -> str:
    return json.dumps({"id": recording.id, "started_at": recording.started_at, "slots": recording.slots,
                       "ended_at": recording.ended_at, "seconds": recording.seconds})


class RecordingStore:
    """Reads and writes recordings' facts and timelines."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def wanted(self, room_id: str) -> tuple[bool, str | None]:
        """Whether the room is live with recording on, and its club."""
        # Decoded replies (decode_responses=True, storage.py): str, or None.
        status, on, club_id = cast(list[str | None], await self.redis.hmget(keys.room(room_id),
                                                                           ["status", "recording", "club_id"]))
        return status == "live" and on == "1", club_id or None

    async def begin(self, recording: Recording, club_id: str | None) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.recordings(recording.room_id), recording.id, _facts(recording))
            if club_id:
                pipe.zadd(keys.club_recordings(club_id), {f"{recording.room_id}/{recording.id}": recording.started_at})
            await pipe.execute()

    async def add_moments(self, room_id: str, recording_id: str, moments: list[Moment], names: dict[str, str]) -> None:
        """Append to a recording's timeline, with the names of those it mentions."""
        if not moments:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(keys.recording_moments(room_id, recording_id),
                       *(json.dumps([m.at, list(m.holders), list(m.speaking)]) for m in moments))
            if names:
                named = keys.recording_names(room_id, recording_id)
                pipe.hset(named, items=[v for pair in names.items() for v in pair])
            await pipe.execute()

    async def member_names(self, room_id: str, ids: list[str]) -> dict[str, str]:
        """The names of those of `ids` who are members of the room now."""
        raws = cast(list[str | None], await self.redis.hmget(keys.members(room_id), ids) if ids else [])
        return {id: json.loads(raw)["name"] for id, raw in zip(ids, raws) if raw is not None}

    async def was_there(self, room_id: str, identity_id: str) -> bool:
        """Whether `identity_id` listened in the room or was on its stage."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hexists(keys.visitors(room_id), identity_id)
            pipe.hexists(keys.stage_time(room_id), identity_id)
            return any(await pipe.execute())

    async def finish(self, recording: Recording) -> None:
        """Record that the recording's files are complete (its end and length)."""
        await self.redis.hset(keys.recordings(recording.room_id), recording.id, _facts(recording))

    async def of_room(self, room_id: str) -> list[Recording]:
        """The room's recordings, oldest first, with their timelines."""
        raws = cast(dict[str, str], await self.redis.hgetall(keys.recordings(room_id)))
        facts = sorted((json.loads(raw) for raw in raws.values()), key=lambda f: f["started_at"])
        async with self.redis.pipeline(transaction=False) as pipe:
            for fact in facts:
                pipe.lrange(keys.recording_moments(room_id, fact["id"]), 0, -1)
                pipe.hgetall(keys.recording_names(room_id, fact["id"]))
            replies = await pipe.execute()
        return [
            Recording(id=fact["id"], room_id=room_id, started_at=fact["started_at"], slots=fact["slots"],
                      ended_at=fact["ended_at"], seconds=fact["seconds"],
                      moments=[Moment(at, tuple(holders), tuple(speaking))
                               for at, holders, speaking in map(json.loads, moments)],
                      names=names)
            for fact, moments, names in zip(facts, replies[::2], replies[1::2])
        ]

    async def get(self, room_id: str, recording_id: str) -> Recording:
        for recording in await self.of_room(room_id):
            if recording.id == recording_id:
                return recording
        raise DropinError(ErrorCode.RECORDING_NOT_FOUND, "there is no such recording")

    async def of_club(self, club_id: str, limit: int = 50) -> list[tuple[str, str]]:
        """(room id, recording id) of the club's latest recordings, newest first."""
        entries = cast(list[str], await self.redis.zrevrange(keys.club_recordings(club_id), 0, limit - 1))
        return [cast(tuple[str, str], tuple(entry.split("/", 1))) for entry in entries]

    async def delete(self, room_id: str, recording_id: str, club_id: str | None) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.recordings(room_id), recording_id)
            pipe.delete(keys.recording_moments(room_id, recording_id), keys.recording_names(room_id, recording_id))
            if club_id:
                pipe.zrem(keys.club_recordings(club_id), f"{room_id}/{recording_id}")
            await pipe.execute()
