"""End to end: a host speaks in a room and a listener in another browser hears it.

Two isolated browser contexts in one headless Chromium (tests/e2e/conftest.py). The app is
driven only through accessible names, the way a person or a screen reader would use it.
"""

from __future__ import annotations

import asyncio
import re
import time

import httpx
from playwright.async_api import expect

from support import packets_on


async def wait_for_listeners(api: httpx.AsyncClient, room_id: str, expected: int, within_s: float) -> int:
    deadline = time.monotonic() + within_s
    listeners = -1
    while time.monotonic() < deadline:
        room = (await api.get(f"/api/rooms/{room_id}")).raise_for_status().json()
        listeners = room["listeners"]
        if listeners == expected:
            break
        await asyncio.sleep(0.2)
    return listeners


async def test_listener_hears_host_and_leaves_quietly(server, open_page) -> None:
    host = await open_page()
    listener = await open_page()

    # 1. Ada starts a room and goes live.
    await host.goto("/")
    await host.get_by_label("Your name", exact=True).fill("Host Ada")
    await host.get_by_label("Title", exact=True).fill("Burning questions")
    await host.get_by_role("button", name="Create room", exact=True).click()
    await expect(host).to_have_url(re.compile(r"/rooms/[^/]+$"))
    room_id = host.url.rstrip("/").rsplit("/", 1)[-1]
    await host.get_by_role("button", name="Join room", exact=True).click()
    await expect(host.get_by_text("Live — you're on stage")).to_be_visible(timeout=10_000)

    # 2. Bo finds the room in the hallway (within one refresh) and joins it.
    await listener.goto("/")
    await listener.get_by_label("Your name", exact=True).fill("Listener Bo")
    join_from_hallway = listener.get_by_role("button", name="Join Burning questions", exact=True)
    await expect(join_from_hallway).to_be_visible(timeout=10_000)
    await join_from_hallway.click()
    await expect(listener).to_have_url(re.compile(rf"/rooms/{re.escape(room_id)}$"))
    await listener.get_by_role("button", name="Join room", exact=True).click()

    # 3. Ada's audio reaches Bo: Opus at 50 packets/s passes 100 in about 2 s.
    received = await packets_on(listener, more_than=100, within_s=10)
    assert received > 100, f"listener received only {received} audio packets in 10 s"

    # 4. Bo is counted while in the room, and not once he has left.
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        room = (await api.get(f"/api/rooms/{room_id}")).raise_for_status().json()
        assert room["listeners"] == 1
        await expect(host.get_by_text("1 listening")).to_be_visible(timeout=10_000)

        await listener.get_by_role("button", name="Leave quietly", exact=True).click()
        await expect(listener.get_by_text("You left the room.")).to_be_visible()
        assert await wait_for_listeners(api, room_id, expected=0, within_s=5) == 0
        # The host sees the count drop in the next audience batch, and nothing else.
        await expect(host.get_by_text("0 listening")).to_be_visible(timeout=10_000)
