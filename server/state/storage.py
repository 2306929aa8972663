"""The node's connections to Redis, and what a client is told when Redis can't answer.

Requests share a bounded pool: when a crowd arrives at once, a request waits for a free
connection (up to `redis_wait_s`) instead of failing, and only past that is refused with `busy`.
A dropped connection is retried briefly (Redis restarting), then refused with `unavailable`.
Both codes mean "nothing changed, try again shortly". Room feeds block on the log for seconds
at a time, so they read through a client of their own and never hold a request's connection.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError, RedisError, TimeoutError

from vocabulary.errors import DropinError, ErrorCode

log = logging.getLogger(__name__)

FEED_CONNECTIONS = 10_000  # one per room followed by this node
RETRIES = 4  # about a second and a half, backing off from 50 ms
P = ParamSpec("P")
T = TypeVar("T")


class StorageBusy(RedisError):
    """Every connection of the pool stayed in use for as long as a request may wait."""


class WaitingPool(BlockingConnectionPool):
    """A bounded pool whose exhaustion is told apart from Redis being unreachable."""

    async def get_connection(self, *args: object, **kwargs: object) -> AbstractConnection:
        # redis-py leaves BlockingConnectionPool.get_connection unannotated; it returns a connection.
        get_connection = cast(Callable[..., Awaitable[AbstractConnection]], super().get_connection)
        try:
            return await get_connection(*args, **kwargs)
        except ConnectionError as exc:
            if isinstance(exc.__cause__, asyncio.TimeoutError):
                raise StorageBusy(f"no Redis connection came free within {self.timeout} s") from exc
            raise


class TimedRedis(Redis):
    """A client that tells `observe` how long each command took (pipelines are not timed)."""

    observe: Callable[[float], None] = staticmethod(lambda seconds: None)

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        started = time.perf_counter()
        try:
            # redis-py leaves Redis.execute_command unannotated.
            execute = cast(Callable[..., Awaitable[Any]], super().execute_command)
            return await execute(*args, **options)
        finally:
            self.observe(time.perf_counter() - started)


def _retry() -> Retry:
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), RETRIES)


def request_client(
    url: str, connections: int, wait_s: float, observe: Callable[[float], None] | None = None
) -> Redis:
    """The client for requests: at most `connections` at once, each waiting up to `wait_s` for one;
    `observe` is told each command's time."""
    pool = WaitingPool.from_url(
        url,
        max_connections=connections,
        timeout=wait_s,
        decode_responses=True,
        retry=_retry(),
        health_check_interval=10,
    )
    client = TimedRedis(connection_pool=pool)
    if observe is not None:
        client.observe = observe
    return client


def feed_client(url: str) -> Redis:
    """The client room feeds block on."""
    return Redis.from_url(url, decode_responses=True, max_connections=FEED_CONNECTIONS, retry=_retry())


TRANSIENT = (ConnectionError, TimeoutError, StorageBusy)
"""Redis could not answer now (down, restarting, or every connection busy): worth trying later."""


def refusal(exc: RedisError) -> DropinError | None:
    """The error a client gets for a transient Redis failure; None for anything else (a fault)."""
    if isinstance(exc, StorageBusy):
        return DropinError(ErrorCode.BUSY, "the server is busy; try again in a moment")
    if isinstance(exc, TRANSIENT):
        return DropinError(ErrorCode.UNAVAILABLE, "the server can't reach its room store right now; try again shortly")
    return None


def refusing_when_unavailable(action: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorate a request handler so a transient Redis failure reaches the client as `busy` or `unavailable`."""

    @functools.wraps(action)
    async def handle(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await action(*args, **kwargs)
        except RedisError as exc:
            error = refusal(exc)
            if error is None:
                raise
            raise error from exc

    return handle


async def every(period_s: float, step: Callable[[], Awaitable[bool]], what: str) -> None:
    """Run `step` every `period_s` (at once again when it returns True: more is waiting) until
    cancelled. While Redis is unreachable, say so once when it goes and once when it is back."""
    unreachable = False
    while True:
        try:
            again = await step()
            if unreachable:
                log.warning("%s: Redis is back", what)
            unreachable = False
            if again:
                continue
        except TRANSIENT as exc:
            if not unreachable:
                log.warning("%s: Redis unreachable (%s); carrying on without it", what, exc)
            unreachable = True
        await asyncio.sleep(period_s)
