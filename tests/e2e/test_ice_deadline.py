"""End to end: a page whose audio can't get through says so in plain words, stays in the room,
and tries again on request.

The page is forced to relay-only ICE (the test switch `dropin.iceTransportPolicy`) on a server
with no TURN server, so no media path can ever connect: the websocket works, the audio doesn't.
"""

from __future__ import annotations

import re

from playwright.async_api import expect

UNREACHABLE = "Can't reach the audio server from this network"
RELAY_ONLY = "localStorage.setItem('dropin.iceTransportPolicy', 'relay');"
PEER_CONNECTIONS = "() => window.__pcs.length"


async def test_unreachable_audio_is_explained_and_retried(server, open_page) -> None:
    host = await open_page()
    listener = await open_page()
    await listener.add_init_script(RELAY_ONLY)

    # Ada opens a room and goes live.
    await host.goto("/")
    await host.get_by_label("Your name", exact=True).fill("Host Ada")
    await host.get_by_label("Title", exact=True).fill("Burning questions")
    await host.get_by_role("button", name="Create room", exact=True).click()
    await expect(host).to_have_url(re.compile(r"/rooms/[^/]+$"))
    await host.get_by_role("button", name="Join room", exact=True).click()
    await expect(host.get_by_text("Live — you're on stage")).to_be_visible(timeout=10_000)

    # Bo joins from a network that lets no audio through; within 20 s the page says so.
    await listener.goto(host.url)
    await listener.get_by_label("Your name", exact=True).fill("Listener Bo")
    await listener.get_by_role("button", name="Join room", exact=True).click()
    problem = listener.get_by_role("alert").filter(has_text=UNREACHABLE)
    await expect(problem).to_be_visible(timeout=20_000)
    await expect(problem.get_by_text("phone's hotspot")).to_be_visible()
    await expect(problem.get_by_text("TURN port")).to_be_visible()

    # He is still in the room, and the room still works for him: Ada counts him and sees his hand.
    await expect(host.get_by_text("1 listening")).to_be_visible(timeout=5_000)
    await listener.get_by_role("button", name="Raise hand", exact=True).click()
    await expect(host.get_by_role("region", name="Raised hands").get_by_text("Listener Bo", exact=True)).to_be_visible(
        timeout=5_000
    )

    # "Try again" offers a new peer connection over the same websocket.
    before = await listener.evaluate(PEER_CONNECTIONS)
    await problem.get_by_role("button", name="Try again", exact=True).click()
    await expect(problem).to_be_hidden()
    await listener.wait_for_function("(before) => window.__pcs.length > before", arg=before, timeout=1_000)
    await expect(host.get_by_text("1 listening")).to_be_visible()
    # That try cannot connect either, so the words come back after its own deadline.
    await expect(problem).to_be_visible(timeout=20_000)
