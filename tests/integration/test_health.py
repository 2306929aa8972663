"""/healthz answers while the process does; /readyz answers 200 only while the node takes new
pages: 503 with a reason while its Redis is down, and from a SIGTERM on, while it drains."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from server.state.redis_server import RedisServer
from signaling.client import SignalingClient
from support import REPO, Member, RunningServer, hosted_room, serving

NOTICE_S = 3


@pytest.fixture
def node(own_redis: RedisServer, tmp_path: Path) -> Iterator[RunningServer]:
    with serving(own_redis.url, tmp_path, DROPIN_DRAIN_NOTICE_S=str(NOTICE_S), DROPIN_HOST_GRACE_S="60") as running:
        yield running


def image_healthcheck(node: RunningServer) -> int:
    """The exit status of docker/Dockerfile's HEALTHCHECK command, run against `node`."""
    line = next(line for line in (REPO / "docker/Dockerfile").read_text().splitlines() if "CMD [" in line)
    command = json.loads(line.split("CMD", 1)[1])
    port = node.base_url.rsplit(":", 1)[1]
    env = {**os.environ, "DROPIN_PORT": port}
    return subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, timeout=10).returncode


def test_ready_unready_while_redis_is_down_and_ready_again(node, own_redis) -> None:
    assert httpx.get(f"{node.base_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{node.base_url}/readyz")
    assert (ready.status_code, ready.json()) == (200, {"ready": True, "reason": None})
    assert image_healthcheck(node) == 0

    own_redis.stop()
    started = time.monotonic()
    unready = httpx.get(f"{node.base_url}/readyz", timeout=5)
    assert time.monotonic() - started < 2.5, "a probe is answered within its timeout"
    assert (unready.status_code, unready.json()) == (503, {"ready": False, "reason": "redis_unreachable"})
    assert httpx.get(f"{node.base_url}/healthz").status_code == 200, "the process still answers"
    assert image_healthcheck(node) != 0

    own_redis.start()
    deadline = time.monotonic() + 10
    while httpx.get(f"{node.base_url}/readyz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "ready again once Redis is back"
        time.sleep(0.2)


async def test_a_draining_node_says_so_before_it_goes(node) -> None:
    room_id, host = hosted_room(node)
    member = await Member.enter(node.ws_url, room_id, node.identity("Listener"))
    try:
        node.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        async with httpx.AsyncClient(base_url=node.base_url, timeout=5) as api:
            draining = await api.get("/readyz")
            assert (draining.status_code, draining.json()) == (503, {"ready": False, "reason": "draining"})
            assert (await api.get("/healthz")).status_code == 200
            # Meanwhile it still serves: its members stay, and a page that comes now still joins.
            late = await Member.enter(node.ws_url, room_id, node.identity("Late"))
            await late.client.close()
            with pytest.raises(TimeoutError):
                await member.client.wait_closed(NOTICE_S - 1 - (time.monotonic() - signalled))
            await member.client.wait_closed(5)  # then it drains
            assert time.monotonic() - signalled > NOTICE_S - 0.5
        assert await asyncio.to_thread(node.process.wait, 20) == 0
    finally:
        await member.client.close()
        await host.close()


async def test_without_notice_sigterm_drains_at_once(own_redis, tmp_path) -> None:
    with serving(own_redis.url, tmp_path) as node:
        client = SignalingClient(await websockets.connect(node.ws_url))
        try:
            node.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            await client.wait_closed(5)
            assert time.monotonic() - signalled < 2
        finally:
            await client.close()
