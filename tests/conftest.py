"""Fixtures: a throwaway real Redis for the session, and a real Dropin server process per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from server.state.redis_server import RedisServer
from support import RunningServer, serving, users_state


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A client of the test Redis; the `server` fixture flushes it when a server starts."""
    client = Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture(name="redis")
async def decoded_redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A client that decodes replies, as the server's do, of a Redis emptied for the test."""
    client = Redis.from_url(redis_server.url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def redis_snapshot(redis_client: Redis) -> Callable[[], Awaitable[dict[bytes, bytes]]]:
    """Every key and its serialized value: equal snapshots mean nothing changed."""

    async def snapshot() -> dict[bytes, bytes]:
        return {key: await redis_client.dump(key) for key in users_state(await redis_client.keys("*"))}

    return snapshot


@pytest.fixture
def server(redis_server: RedisServer, tmp_path: Path) -> Iterator[RunningServer]:
    """`dropin serve` in its own process on a random port, against the test Redis (flushed)."""
    redis.Redis.from_url(redis_server.url).flushdb()
    with serving(redis_server.url, tmp_path) as running:
        yield running
