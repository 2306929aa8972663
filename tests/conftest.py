"""Fixtures: a throwaway real Redis for the session, and a real Dropin server process per test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from redis.asyncio import Redis

from server.state.redis_server import RedisServer
from support import free_port

REPO = Path(__file__).resolve().parent.parent


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


@pytest.fixture
def redis_snapshot(redis_client: Redis) -> Callable[[], Awaitable[dict[bytes, bytes]]]:
    """Every key and its serialized value: equal snapshots mean nothing changed."""

    async def snapshot() -> dict[bytes, bytes]:
        return {key: await redis_client.dump(key) for key in sorted(await redis_client.keys("*"))}

    return snapshot


@dataclass
class RunningServer:
    base_url: str
    ws_url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    redis_url: str

    def identity(self, name: str) -> str:
        """A fresh identity token for `name`."""
        response = httpx.post(f"{self.base_url}/api/identity", json={"name": name})
        response.raise_for_status()
        return response.json()["token"]

    def create_room(self, token: str, title: str = "Burning questions") -> str:
        response = httpx.post(
            f"{self.base_url}/api/rooms", json={"title": title}, headers={"Authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
        return response.json()["id"]

    def room(self, room_id: str) -> dict:
        return httpx.get(f"{self.base_url}/api/rooms/{room_id}").json()


@pytest.fixture
def server(redis_server: RedisServer, tmp_path: Path) -> Iterator[RunningServer]:
    """`dropin serve` in its own process on a random port, against the test Redis (flushed)."""
    redis.Redis.from_url(redis_server.url).flushdb()
    port = free_port()
    log_path = tmp_path / "server.log"
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "DROPIN_AUDIENCE_BATCH_S": "0.5",
        "DROPIN_RECONNECT_GRACE_S": "1",
        "DROPIN_HOST_GRACE_S": "2",
        "DROPIN_INVITE_TTL_S": "5",
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(tmp_path / "data"), "--log-level", "warning"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{base_url}/api/rooms", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"server did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
    yield RunningServer(base_url, f"ws://127.0.0.1:{port}/ws", process, tmp_path / "data", redis_server.url)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
