"""End to end: checking your microphone.

- Accepting an invitation brings Ana on stage muted, with a live level meter and one clear
  Unmute button; the room hears nothing from her until she unmutes, then hears her.
- "Test my microphone" plays Bo's own microphone back to him alone (the server's `echo`),
  counts down, refuses a second test within 30 s in plain words, and lets the microphone go
  afterwards, since Bo is not on stage.
"""

from __future__ import annotations

import asyncio
import re
import time

from e2e.test_stage_in_browser import inbound_by_mid, join_from_hallway, stage_entry, wait_for_stream
from playwright.async_api import Page, expect

from support import host_and_listener_pages

MIC_LEVEL = "() => Number(document.getElementById('mic-level').value)"
SENT_TRACK = "() => window.__pcs.at(-1).getSenders()[0].track?.readyState ?? null"


async def growth(page: Page, seconds: float) -> dict[str, int]:
    """Packets received per inbound stream (mid) over `seconds`."""
    before = await inbound_by_mid(page)
    await asyncio.sleep(seconds)
    after = await inbound_by_mid(page)
    return {mid: packets - before.get(mid, 0) for mid, packets in after.items()}


async def test_mic_check_on_stage_and_echo_test(open_page) -> None:
    host, bo, ana = await open_page(), await open_page(), await open_page()
    room_id = await host_and_listener_pages(host, bo)
    host_mid, _ = await wait_for_stream(bo, other_than=set(), above=50, deadline=time.monotonic() + 10)

    # 1. Ana raises her hand, Ada invites her, she accepts: on stage, muted, meter moving.
    await join_from_hallway(ana, "Ana", room_id)
    await ana.get_by_role("button", name="Raise hand", exact=True).click(timeout=10_000)
    hands = host.get_by_role("region", name="Raised hands")
    await hands.get_by_role("button", name="Invite Ana to speak", exact=True).click(timeout=5_000)
    invitation = ana.get_by_role("dialog", name="Join the stage?")
    await invitation.get_by_role("button", name="Accept", exact=True).click(timeout=5_000)
    await expect(stage_entry(ana, "Ana").get_by_text("muted", exact=True)).to_be_visible(timeout=5_000)
    await expect(ana.get_by_label("Your microphone level")).to_be_visible(timeout=5_000)
    await ana.wait_for_function(f"({MIC_LEVEL})() > 0", timeout=5_000)
    unmute = ana.get_by_role("button", name="Unmute microphone", exact=True)
    await expect(unmute).to_be_visible()
    await expect(ana.get_by_text("watch the level")).to_be_visible()

    # The room hears nothing from her while she is muted: Bo gets Ada's stream only.
    await asyncio.sleep(1)
    quiet = await growth(bo, 2)
    assert all(packets <= 3 for mid, packets in quiet.items() if mid != host_mid), quiet

    # 2. She unmutes, and Bo hears her on another slot.
    await unmute.click()
    await expect(stage_entry(bo, "Ana").get_by_text("mic on", exact=True)).to_be_visible(timeout=5_000)
    ana_mid, _ = await wait_for_stream(bo, other_than={host_mid}, above=50, deadline=time.monotonic() + 10)
    await expect(ana.get_by_text("watch the level")).to_be_hidden()

    # 3. Bo, a listener, tests his microphone: he hears himself, Ada and Ana do not.
    assert await bo.evaluate(SENT_TRACK) is None
    test = bo.get_by_role("button", name="Test my microphone", exact=True)
    await test.click()
    await expect(bo.get_by_text("you hear yourself back")).to_be_visible(timeout=5_000)
    await expect(bo.get_by_text(re.compile(r"^\d+ s left$"))).to_be_visible()
    await wait_for_stream(bo, other_than={host_mid, ana_mid}, above=50, deadline=time.monotonic() + 8)
    heard_by_host = await growth(host, 2)
    assert sum(packets > 3 for packets in heard_by_host.values()) == 1, f"Ada hears Ana only: {heard_by_host}"

    # 4. When it ends his microphone goes; a second test within 30 s is refused in plain words.
    await expect(bo.get_by_text("Test finished")).to_be_visible(timeout=15_000)
    await bo.wait_for_function(f"({SENT_TRACK})() === null", timeout=5_000)
    await test.click()
    await expect(bo.get_by_text("once every 30 seconds")).to_be_visible(timeout=5_000)

