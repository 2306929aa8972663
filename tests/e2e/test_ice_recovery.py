"""End to end: a listener's media path is cut, and audio comes back without a rejoin.

Listener Bo is forced to relay (the page's test switch) through a TURN URL naming a UDP relay
(tests/impair.py) in front of a real coturn; blocking that relay cuts his media path and only
his, while his websocket (straight to the server) stays up. Host Ada reaches the server directly.

- A 3 s break: ICE itself recovers on the same peer connection (the page waits 5 s of
  `disconnected` before replacing it), the audio comes back, nobody sees Bo leave.
- A break that lasts until the page gives its peer connection up: the page replaces it in place,
  a new RTCPeerConnection offered over the same websocket, and Bo keeps his place (his raised
  hand) and hears Ada again.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from impair import RELAY_ONLY, Frames, ImpairingRelay, audio_stats, until_hearing
from playwright.async_api import Page, expect

from support import RunningServer, go_live, join

PACKETS_PER_S = 50  # Opus, 20 ms frames


@pytest.fixture
def server(server_behind_relay: RunningServer) -> RunningServer:
    """The pages' server: its members' TURN URL is the relay in front of coturn (tests/e2e/conftest.py)."""
    return server_behind_relay


async def room_with_relayed_listener(open_page) -> tuple[Page, Page, Frames, Frames]:
    """Ada live, Bo (relayed through the relay) hearing her with his hand raised."""
    host, bo = await open_page(), await open_page()
    await bo.add_init_script(RELAY_ONLY)
    host_frames, bo_frames = Frames(host), Frames(bo)
    room = await go_live(host)
    await join(bo, room, "Listener Bo")
    stats = await until_hearing(bo, 100, within_s=15, level=True)
    assert stats["packets"] > 100 and stats["level"] > 0, f"Bo does not hear Ada: {stats}"
    assert stats["local"]["type"] == "relay", f"Bo's audio does not cross the relay: {stats}"
    await bo.get_by_role("button", name="Raise hand", exact=True).click()
    await expect(raised_hands(host).get_by_text("Listener Bo", exact=True)).to_be_visible(timeout=5_000)
    await expect(host.get_by_text("1 listening")).to_be_visible(timeout=5_000)
    return host, bo, host_frames, bo_frames


def raised_hands(page: Page):
    return page.get_by_role("region", name="Raised hands")


async def cut(relay: ImpairingRelay, bo: Page, seconds: float) -> dict:
    """Block Bo's media path for `seconds`; checks nothing got through; his stats after."""
    before = await audio_stats(bo)
    relay.block(seconds)
    await asyncio.sleep(seconds)
    after = await audio_stats(bo)
    if after["pcs"] == before["pcs"]:
        assert after["packets"] - before["packets"] < 10, f"audio got through the break: {before} -> {after}"
    assert relay.down.blocked > 0, "nothing was blocked"
    return after


async def recovery(bo: Page, after_break: dict, within_s: float) -> tuple[float, dict]:
    """Seconds until Bo has received another second of audio (on whichever peer connection is his
    latest), and his stats then."""
    started = time.monotonic()
    while True:
        stats = await audio_stats(bo)
        fresh = stats["packets"] - (after_break["packets"] if stats["pcs"] == after_break["pcs"] else 0)
        if fresh > PACKETS_PER_S and stats["level"] > 0:
            return time.monotonic() - started, stats
        assert time.monotonic() - started < within_s, f"Bo's audio did not come back within {within_s} s: {stats}"
        await asyncio.sleep(0.2)


def assert_no_rejoin(host: Page, host_frames: Frames, bo_frames: Frames) -> None:
    assert bo_frames.sockets == 1 and bo_frames.closed == 0, "Bo's websocket was replaced"
    joins = [message for message in bo_frames.sent if message.get("type") == "join"]
    assert len(joins) == 1, f"Bo joined again: {joins}"
    counts = [message["count"] for message in host_frames.of_type("audience")]
    assert counts and counts[-1] == 1 and 0 not in counts[counts.index(1):], f"Ada saw Bo leave: {counts}"


async def test_audio_comes_back_after_a_3_s_break(open_page, relay) -> None:
    host, bo, host_frames, bo_frames = await room_with_relayed_listener(open_page)
    pcs = (await audio_stats(bo))["pcs"]

    after_break = await cut(relay, bo, 3)
    seconds, stats = await recovery(bo, after_break, within_s=8)
    print(f"audio back {seconds:.1f} s after a 3 s break: {stats}")

    assert stats["pcs"] == pcs, "ICE recovered by itself: the page did not need a new peer connection"
    assert_no_rejoin(host, host_frames, bo_frames)
    await expect(bo.locator("#disconnected-view")).to_be_hidden()
    await expect(host.get_by_text("1 listening")).to_be_visible()
    await expect(raised_hands(host).get_by_text("Listener Bo", exact=True)).to_be_visible()


async def test_a_failed_peer_connection_is_replaced_in_place(open_page, relay) -> None:
    host, bo, host_frames, bo_frames = await room_with_relayed_listener(open_page)
    pcs = (await audio_stats(bo))["pcs"]

    # The path stays cut until the page has given it up (Chromium calls it `disconnected` some 7 s
    # into the break, the page waits 5 s more) and offered a new peer connection.
    started = time.monotonic()
    relay.block(60)
    await bo.wait_for_function("(pcs) => window.__pcs.length > pcs", arg=pcs, timeout=25_000)
    replaced_after = time.monotonic() - started
    await asyncio.sleep(1)  # the new peer connection's first tries go nowhere either
    relay.unblock()
    seconds, stats = await recovery(bo, {"pcs": pcs, "packets": 0}, within_s=20)
    print(f"replaced {replaced_after:.1f} s into the break; audio back {seconds:.1f} s after it: {stats}")

    assert stats["pcs"] > pcs, "the page replaced its peer connection"
    assert stats["local"]["type"] == "relay"
    offers = [message for message in bo_frames.sent if message.get("type") == "offer"]
    assert len(offers) >= 2, "the new peer connection was offered"
    assert_no_rejoin(host, host_frames, bo_frames)
    await expect(bo.locator("#disconnected-view")).to_be_hidden()
    await expect(host.get_by_text("1 listening")).to_be_visible()
    await expect(raised_hands(host).get_by_text("Listener Bo", exact=True)).to_be_visible()
    await expect(bo.get_by_role("button", name="Lower hand", exact=True)).to_be_visible()
