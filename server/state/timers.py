"""Timers that outlive any one node: due jobs in Redis, each run by whichever node claims it.

A job is a string `kind|argument|...` in a sorted set scored by when it is due. The room scripts
schedule theirs in the same transition as the change that needs them (an invitation's lapse, a
hostless room's end), and a node schedules a dropped member's leave. Every node claims what is
due in one atomic step, which moves the job to a second set with a lease; a job whose node dies
while running it is due again when the lease runs out. Jobs are written so that running one
twice changes nothing the second time (each checks the state it acts on), so "at least once"
fires each exactly once in effect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import cast

from redis.asyncio import Redis

from server.state import keys
from server.state.storage import TRANSIENT, every
from vocabulary.errors import DropinError

log = logging.getLogger(__name__)

POLL_S = 0.25  # how often a node may run a job it knows is due
LOOK_S = 1.0  # how often it asks Redis anyway: for jobs other nodes and the room scripts scheduled
LEASE_S = 30.0  # how long a claimed job may run before another node may take it
BATCH = 100  # the most jobs one claim takes

Handler = Callable[..., Awaitable[object]]

_CLAIM = """
-- KEYS: timers, running. ARGV: now, lease_s, limit.
-- Returns the jobs due now, claimed, and when the next job or lease falls due (false: none).
local now = tonumber(ARGV[1])
for _, job in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], job)
  redis.call('ZADD', KEYS[1], now, job)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, job in ipairs(due) do
  redis.call('ZREM', KEYS[1], job)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), job)
end
local waiting = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
local lease = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2]
local next_due = waiting and lease and math.min(tonumber(waiting), tonumber(lease)) or waiting or lease
return {due, next_due and tostring(next_due) or false}
"""


def job(kind: str, *arguments: str) -> str:
    return "|".join((kind, *arguments))


class Timers:
    """Schedules jobs in Redis, and runs those that fall due with the handler for their kind."""

    def __init__(self, redis: Redis, lease_s: float = LEASE_S) -> None:
        self._redis = redis
        self._lease_s = lease_s
        self._handlers: dict[str, Handler] = {}
        self._claim = redis.register_script(_CLAIM)
        self._task: asyncio.Task[None] | None = None
        self._next_due = 0.0  # the earliest job this node knows of (wall-clock seconds)
        self._scheduled_in_claim = float("inf")  # the earliest this node scheduled while a claim was out
        self._next_look = 0.0  # when it asks Redis regardless (monotonic seconds)

    def handle(self, kind: str, handler: Handler) -> None:
        """Run jobs of `kind` with `handler(*arguments)`."""
        self._handlers[kind] = handler

    async def schedule(self, at: float, kind: str, *arguments: str) -> None:
        await self.schedule_all(at, [(kind, *arguments)])

    async def schedule_all(self, at: float, jobs: list[tuple[str, ...]]) -> None:
        """Schedule several jobs (`(kind, argument, ...)`) for the same time, in one call."""
        if jobs:
            await self._redis.zadd(keys.TIMERS, {job(*each): at for each in jobs})
            self._next_due = min(self._next_due, at)
            self._scheduled_in_claim = min(self._scheduled_in_claim, at)

    def start(self) -> None:
        self._task = asyncio.create_task(every(POLL_S, self._fire_a_batch, "timers"), name="timers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def fire_due(self) -> int:
        """Claim and run the jobs due now; returns how many ran."""
        self._scheduled_in_claim = float("inf")
        due, next_due = cast(tuple[list[str], str | None], await self._claim(
            keys=[keys.TIMERS, keys.TIMERS_RUNNING], args=[time.time(), self._lease_s, BATCH]))
        # What Redis says is next, unless this node scheduled sooner meanwhile: its job may have
        # reached Redis after the claim looked.
        known = float(next_due) if next_due is not None else float("inf")
        self._next_due = min(known, self._scheduled_in_claim)
        self._next_look = time.monotonic() + LOOK_S
        for claimed in due:
            await self._fire(claimed)
        return len(due)

    async def _fire(self, claimed: str) -> None:
        kind, *arguments = claimed.split("|")
        handler = self._handlers.get(kind)
        try:
            if handler is None:
                log.error("timer %r: no handler for %r; dropped", claimed, kind)
            else:
                await handler(*arguments)
        except TRANSIENT:
            return  # Redis went away mid-job: the claim lapses and the job runs again
        except DropinError:
            pass  # the state it acted on has moved on (the room ended, the member left)
        except Exception:
            log.exception("timer %r", claimed)
        await self._redis.zrem(keys.TIMERS_RUNNING, claimed)

    async def _fire_a_batch(self) -> bool:
        """One poll: Redis is asked only when a job this node knows of is due, or every LOOK_S (an
        idle node made 4 claims a second, about 9 ms of CPU a second with its Redis)."""
        if time.time() < self._next_due and time.monotonic() < self._next_look:
            return False
        return await self.fire_due() == BATCH
