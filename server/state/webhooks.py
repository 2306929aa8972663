"""Webhook endpoints and their queues in Redis; server/webhooks.py delivers them.

An endpoint is the operator's (DROPIN_WEBHOOK_URLS: every event) or a club's (added by its hosts
through the API: the events of its rooms and its scheduled rooms). The room scripts queue events
themselves (lua/webhook.lua), in the same step as the change they are about, so nothing is lost
between a change and its event, nor by a node's restart: an event leaves its queue when its
endpoint has answered 2xx, or when its retries have run out, and is then kept, with the last
FAILURES_KEPT given up, in the endpoint's failures.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

from redis.asyncio import Redis

from server.domain.ids import new_id
from server.state import keys
from vocabulary.errors import DropinError, ErrorCode

FAILURES_KEPT = 100
LEASE_MS = 15_000
"""How long a node's hold on an endpoint lasts unless renewed (a node that dies holds it that long)."""
CLUB_ENDPOINTS_MAX = 5

_KEYS_LUA = (
    f"local K_WEBHOOKS_OPERATOR, K_WEBHOOK_PREFIX, K_CLUB_PREFIX = "
    f"'{keys.WEBHOOKS_OPERATOR}', '{keys.WEBHOOK_PREFIX}', '{keys.club('')}'\n"
)

_LEASE = """
if ARGV[2] == '0' then
  if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return 0
end
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""


def lua_source(*names: str) -> str:
    """A script made of server/state/lua's `names`, after the webhook function every script may call."""
    lua = resources.files("server.state").joinpath("lua")
    return _KEYS_LUA + "\n".join(lua.joinpath(name).read_text() for name in ("webhook.lua", *names))


def new_secret() -> str:
    """A signing secret in Standard Webhooks' form: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Endpoint:
    id: str
    url: str
    secret: str
    club_id: str
    created_at: float
    queue_max: int
    queued: int
    delivered: int
    failed: int
    dropped: int
    attempts: int
    next_at: float
    batch_end: str
    last_error: str
    last_at: float


@dataclass(frozen=True)
class Queued:
    """An event waiting in an endpoint's queue."""

    id: str
    type: str
    batch: str
    body: str

    @property
    def at(self) -> float:
        """When it was queued (its stream id's milliseconds)."""
        return int(self.id.split("-")[0]) / 1000


def stream_order(entry_id: str) -> tuple[int, int]:
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


class WebhookStore:
    """Reads and changes webhook endpoints and their queues in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._enqueue = redis.register_script(lua_source("enqueue_webhook.lua"))
        self._settle = redis.register_script(lua_source("webhook_settle.lua"))
        self._lease = redis.register_script(_LEASE)

    async def set_operator_endpoints(self, urls: Sequence[str], secret: str, queue_max: int) -> None:
        """Make the operator's endpoints these (a node's settings); ones no longer set go, with their queues."""
        wanted = {"op" + hashlib.sha256(url.encode()).hexdigest()[:12]: url for url in urls}
        gone = cast(set[str], await self.redis.smembers(keys.WEBHOOKS_OPERATOR)) - wanted.keys()
        async with self.redis.pipeline(transaction=True) as pipe:
            for endpoint_id in gone:
                self._delete(pipe, endpoint_id, keys.WEBHOOKS_OPERATOR)
            for endpoint_id, url in wanted.items():
                pipe.hsetnx(keys.webhook(endpoint_id), "created_at", time.time())
                pipe.hset(keys.webhook(endpoint_id), mapping={
                    "id": endpoint_id, "url": url, "secret": secret, "club_id": "", "queue_max": queue_max,
                })
                pipe.sadd(keys.WEBHOOKS_OPERATOR, endpoint_id)
                pipe.sadd(keys.WEBHOOKS, endpoint_id)
            await pipe.execute()

    async def add(self, club_id: str, url: str, created_by: str, queue_max: int) -> Endpoint:
        """A new endpoint for a club's events, with a new secret."""
        if await self.redis.scard(keys.club_webhooks(club_id)) >= CLUB_ENDPOINTS_MAX:
            raise DropinError(ErrorCode.TOO_MANY_WEBHOOKS, f"a club has at most {CLUB_ENDPOINTS_MAX} webhooks")
        endpoint_id = new_id()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.webhook(endpoint_id), mapping={
                "id": endpoint_id, "url": url, "secret": new_secret(), "club_id": club_id, "queue_max": queue_max,
                "created_at": time.time(), "created_by": created_by,
            })
            pipe.sadd(keys.club_webhooks(club_id), endpoint_id)
            pipe.sadd(keys.WEBHOOKS, endpoint_id)
            await pipe.execute()
        return cast(Endpoint, await self.get(endpoint_id))

    async def of_club(self, club_id: str) -> list[Endpoint]:
        ids = cast(set[str], await self.redis.smembers(keys.club_webhooks(club_id)))
        endpoints = [await self.get(endpoint_id) for endpoint_id in ids]
        return sorted((e for e in endpoints if e), key=lambda e: e.created_at)

    async def of_club_one(self, club_id: str, endpoint_id: str) -> Endpoint:
        endpoint = await self.get(endpoint_id)
        if endpoint is None or endpoint.club_id != club_id:
            raise DropinError(ErrorCode.WEBHOOK_NOT_FOUND, f"no webhook {endpoint_id} in this club")
        return endpoint

    async def remove(self, club_id: str, endpoint_id: str) -> Endpoint:
        """Remove a club's endpoint, what is queued for it and its failures; returns it as it was."""
        endpoint = await self.of_club_one(club_id, endpoint_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            self._delete(pipe, endpoint_id, keys.club_webhooks(club_id))
            await pipe.execute()
        return endpoint

    def _delete(self, pipe: Any, endpoint_id: str, owner: str) -> None:
        pipe.delete(keys.webhook(endpoint_id), keys.webhook_queue(endpoint_id), keys.webhook_failures(endpoint_id),
                    keys.webhook_lease(endpoint_id))
        pipe.srem(owner, endpoint_id)
        pipe.srem(keys.WEBHOOKS, endpoint_id)

    async def ids(self) -> set[str]:
        return cast(set[str], await self.redis.smembers(keys.WEBHOOKS))

    async def get(self, endpoint_id: str) -> Endpoint | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.webhook(endpoint_id))
            pipe.xlen(keys.webhook_queue(endpoint_id))
            fields, queued = await pipe.execute()
        if not fields.get("url"):
            return None
        return Endpoint(
            id=endpoint_id, url=fields["url"], secret=fields["secret"], club_id=fields.get("club_id", ""),
            created_at=float(fields.get("created_at", 0)), queue_max=int(fields["queue_max"]), queued=queued,
            delivered=int(fields.get("delivered", 0)), failed=int(fields.get("failed", 0)),
            dropped=int(fields.get("dropped", 0)), attempts=int(fields.get("attempts", 0)),
            next_at=float(fields.get("next_at", 0)), batch_end=fields.get("batch_end", ""),
            last_error=fields.get("last_error", ""), last_at=float(fields.get("last_at", 0)),
        )

    async def failures(self, endpoint_id: str) -> list[dict[str, Any]]:
        """The deliveries given up, newest first."""
        raw = await self.redis.lrange(keys.webhook_failures(endpoint_id), 0, FAILURES_KEPT - 1)
        return [json.loads(entry) for entry in raw]

    async def enqueue(self, kind: str, club_id: str | None, body: dict[str, Any]) -> None:
        """Queue an event that no room script queues (an RSVP)."""
        await self._enqueue(args=[kind, club_id or "", json.dumps(body)])

    async def head(self, endpoint_id: str, count: int) -> list[Queued]:
        """The oldest `count` events queued for the endpoint."""
        entries = cast(list[tuple[str, dict[str, str]]],  # decoded replies
                       await self.redis.xrange(keys.webhook_queue(endpoint_id), count=count))
        return [Queued(entry_id, fields["type"], fields["batch"], fields["body"]) for entry_id, fields in entries]

    async def lease(self, endpoint_id: str, node_id: str) -> bool:
        """Whether this node delivers to the endpoint now (taken or kept for LEASE_MS)."""
        return bool(await self._lease(keys=[keys.webhook_lease(endpoint_id)], args=[node_id, LEASE_MS]))

    async def release(self, endpoint_id: str, node_id: str) -> None:
        """Let another node deliver to the endpoint at once (this one is stopping)."""
        await self._lease(keys=[keys.webhook_lease(endpoint_id)], args=[node_id, 0])

    async def delivered(self, endpoint_id: str, entries: Sequence[Queued]) -> None:
        await self._settled(endpoint_id, "delivered", entries)

    async def retry(self, endpoint_id: str, attempts: int, next_at: float, batch_end: str, error: str) -> None:
        """Try the same events again at `next_at` (up to `batch_end`, so a retried batch stays as it was sent)."""
        await self._settled(endpoint_id, "retry", (), attempts=attempts, next_at=next_at, batch_end=batch_end,
                            error=error)

    async def give_up(self, endpoint_id: str, entries: Sequence[Queued], failure: dict[str, Any]) -> None:
        """Take the events off the queue, and keep what was sent and why it failed among the failures."""
        await self._settled(endpoint_id, "failed", entries, error=failure["error"], failure=json.dumps(failure))

    async def _settled(
        self, endpoint_id: str, outcome: str, entries: Sequence[Queued], attempts: int = 0, next_at: float = 0,
        batch_end: str = "", error: str = "", failure: str = "",
    ) -> None:
        await self._settle(
            keys=[keys.webhook(endpoint_id), keys.webhook_queue(endpoint_id), keys.webhook_failures(endpoint_id)],
            args=[outcome, time.time(), attempts, next_at, batch_end, error, failure, FAILURES_KEPT,
                  *(entry.id for entry in entries)],
        )
