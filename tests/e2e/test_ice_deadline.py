"""End to end: a page whose audio can't get through says so in plain words, stays in the room,
and tries again on request.

The page is forced to relay-only ICE (the test switch `dropin.iceTransportPolicy`) on a server
with no TURN server, so no media path can ever connect: the websocket works, the audio doesn't.
"""

from __future__ import annotations

from impair import live_host_and_relayed_listener
from playwright.async_api import expect

UNREACHABLE = "Can't reach the audio server from this network"
PEER_CONNECTIONS = "() => window.__pcs.length"


async def test_unreachable_audio_is_explained_and_retried(server, open_page) -> None:
    # Ada opens a room and goes live; Bo joins from a network that lets no audio through; within
    # 20 s the page says so.
    host, listener = await live_host_and_relayed_listener(open_page)
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
