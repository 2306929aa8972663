"""End to end through `dropin serve --workers 2`: two pages in one room on the one port; the
worker that is the room's origin is killed (kill -9); a page it served says it is reconnecting,
comes back through the same port, and the listener hears the host again. Then both workers are
restarted in turn (SIGTERM) under the live room."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
import redis
from playwright.async_api import expect

from support import PACKETS_RECEIVED, RunningServer, host_and_listener_pages, packets_on, serving

# Notes whether the page ever shows "Reconnecting…" from now on, however briefly.
SAW_RECONNECTING = """
() => {
  window.__sawReconnecting = false;
  new MutationObserver(() => {
    if (document.body.innerText.includes('Reconnecting…')) window.__sawReconnecting = true;
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
}
"""


@pytest.fixture
def server(redis_server, tmp_path) -> Iterator[RunningServer]:
    """The pages' server (tests/e2e/conftest.py): here two workers on one port."""
    redis.Redis.from_url(redis_server.url).flushdb()
    with serving(redis_server.url, tmp_path, DROPIN_WORKERS="2") as running:
        deadline = time.monotonic() + 15
        while len(httpx.get(f"{running.base_url}/api/nodes").json()["nodes"]) < 2:
            assert time.monotonic() < deadline, "two workers register"
            time.sleep(0.2)
        yield running


async def test_pages_come_back_when_the_origin_worker_is_killed(server, open_page, redis_server) -> None:
    host, listener = await open_page(), await open_page()
    room_id = await host_and_listener_pages(host, listener)

    origin = redis.Redis.from_url(redis_server.url, decode_responses=True).hget(f"dropin:room:{room_id}", "origin")
    time.sleep(2.1)  # a heartbeat: the nodes' member counts are current
    victim = next(n for n in httpx.get(f"{server.base_url}/api/nodes").json()["nodes"] if n["id"] == origin)
    for page in (host, listener):  # a page back within a blink may say so only for a moment
        await page.evaluate(SAW_RECONNECTING)
    os.kill(victim["pid"], signal.SIGKILL)
    if victim["members"]:  # placed by load, the origin may serve neither page
        deadline = time.monotonic() + 5
        while not (await host.evaluate("() => window.__sawReconnecting")
                   or await listener.evaluate("() => window.__sawReconnecting")):
            assert time.monotonic() < deadline, "a page on the killed worker says it is reconnecting"
            await asyncio.sleep(0.1)

    await expect(host.get_by_text("Live — you're on stage")).to_be_visible(timeout=15_000)
    before = await listener.evaluate(PACKETS_RECEIVED)
    after = await packets_on(listener, before + 100, within_s=15)
    assert after > before + 100, f"after the kill the listener received only {after - before} packets in 15 s"


async def test_a_rolling_restart_keeps_the_room(server, open_page, redis_server) -> None:
    host, listener = await open_page(), await open_page()
    room_id = await host_and_listener_pages(host, listener)

    heard: list[tuple[float, int]] = []

    async def listen() -> None:
        while True:
            heard.append((time.monotonic(), await listener.evaluate(PACKETS_RECEIVED)))
            await asyncio.sleep(0.1)

    ear = asyncio.create_task(listen())
    try:
        for _ in range(2):  # each worker in turn, as a deploy would
            nodes = httpx.get(f"{server.base_url}/api/nodes").json()["nodes"]
            os.kill(min(n["pid"] for n in nodes if n["alive"]), signal.SIGTERM)
            await asyncio.sleep(8)  # drained, started again, registered
    finally:
        ear.cancel()
    longest, since = 0.0, heard[0][0]
    for (_, count), (at, more) in zip(heard, heard[1:]):
        if more != count and more > 0:  # audio came in (a page that reconnected counts afresh)
            since = at
        longest = max(longest, at - since)
    print(f"longest silence for the listener over two worker restarts: {longest:.2f} s")
    assert longest < 3.0, f"the listener heard nothing for {longest:.1f} s during the restarts"
    await expect(host.get_by_text("Live — you're on stage")).to_be_visible()
    room = httpx.get(f"{server.base_url}/api/rooms/{room_id}").json()
    assert room["counts"]["host"] == 1 and room["listeners"] == 1
