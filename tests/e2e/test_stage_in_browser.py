"""End to end: a listener raises a hand, is invited on stage, is heard, and is muted by the host.

Three people in isolated browser contexts of one headless Chromium, driven only through
accessible names. Each receive slot is one transceiver of the listener's peer connection, so
each speaker's audio shows up in getStats() as an `inbound-rtp` report with its own `mid`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

from playwright.async_api import Locator, Page, expect

OpenPage = Callable[[], Awaitable[Page]]  # the `open_page` fixture (tests/e2e/conftest.py)

TITLE = "Burning questions"

# packetsReceived per receive transceiver (mid), summed over this page's live peer connections.
INBOUND_AUDIO_BY_MID = """
async () => {
  const byMid = {};
  for (const pc of window.__pcs) {
    if (pc.signalingState === 'closed') continue;
    const report = await pc.getStats();
    report.forEach((stat) => {
      if (stat.type !== 'inbound-rtp' || stat.kind !== 'audio') return;
      const mid = String(stat.mid);
      byMid[mid] = (byMid[mid] ?? 0) + (stat.packetsReceived ?? 0);
    });
  }
  return byMid;
}
"""


async def inbound_by_mid(page: Page) -> dict[str, int]:
    return await page.evaluate(INBOUND_AUDIO_BY_MID)


async def wait_for_stream(page: Page, *, other_than: set[str], above: int, deadline: float) -> tuple[str, int]:
    """The first inbound stream (mid) not in `other_than` whose packetsReceived passes `above`."""
    seen: dict[str, int] = {}
    while time.monotonic() < deadline:
        seen = await inbound_by_mid(page)
        for mid, packets in seen.items():
            if mid not in other_than and packets > above:
                return mid, packets
        await asyncio.sleep(0.25)
    raise AssertionError(f"no inbound audio stream besides {sorted(other_than)} passed {above} packets: {seen}")


def stage_entry(page: Page, name: str) -> Locator:
    return page.get_by_role("region", name="Stage").get_by_role("listitem").filter(has_text=name)


async def start_room(page: Page, voices: str = "") -> str:
    """Host Ada starts a room from the hallway with the form's defaults, except for the voices
    heard at once if `voices` is given, and joins it; returns the room's id."""
    await page.goto("/")
    await page.get_by_label("Your name", exact=True).fill("Host Ada")
    await page.get_by_label("Title", exact=True).fill(TITLE)
    # The defaults: moderators invite (no direct stage), speakers may unmute themselves, and the
    # server decides how many voices are heard at once.
    await expect(page.get_by_label("Let moderators bring listeners straight on stage")).not_to_be_checked()
    await expect(page.get_by_label("Speakers may unmute after a moderator mutes them")).to_be_checked()
    await expect(page.get_by_label("Voices heard at once", exact=True)).to_have_value("")
    if voices:
        await page.get_by_label("Voices heard at once", exact=True).select_option(voices)
    await page.get_by_role("button", name="Create room", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/rooms/[^/]+$"))
    await page.get_by_role("button", name="Join room", exact=True).click()
    await expect(page.get_by_text("Live — you're on stage")).to_be_visible(timeout=10_000)
    return page.url.rstrip("/").rsplit("/", 1)[-1]


async def join_from_hallway(page: Page, name: str, room_id: str) -> None:
    await page.goto("/")
    await page.get_by_label("Your name", exact=True).fill(name)
    join = page.get_by_role("button", name=f"Join {TITLE}", exact=True)
    await expect(join).to_be_visible(timeout=10_000)
    await join.click()
    await expect(page).to_have_url(re.compile(rf"/rooms/{re.escape(room_id)}$"))
    await page.get_by_role("button", name="Join room", exact=True).click()


async def test_listener_is_invited_on_stage_heard_and_muted(server, open_page: OpenPage) -> None:
    host = await open_page()
    ana = await open_page()
    ben = await open_page()

    # 1. Ada starts a room from the hallway and goes live; Ana and Ben drop in as listeners.
    room_id = await start_room(host)
    settings = server.room(room_id)["settings"]
    assert settings["allow_direct_stage"] is False and settings["speakers_may_unmute"] is True
    await join_from_hallway(ana, "Ana", room_id)
    await expect(ana.get_by_role("button", name="Raise hand", exact=True)).to_be_visible(timeout=10_000)
    await join_from_hallway(ben, "Ben", room_id)
    await expect(ben.get_by_role("button", name="Raise hand", exact=True)).to_be_visible(timeout=10_000)

    # Ben hears Ada on one receive slot.
    host_mid, _ = await wait_for_stream(ben, other_than=set(), above=50, deadline=time.monotonic() + 10)

    # 2. Ana raises her hand; Ada sees it in the queue and invites her.
    await ana.get_by_role("button", name="Raise hand", exact=True).click()
    await expect(ana.get_by_role("button", name="Lower hand", exact=True)).to_be_visible(timeout=5_000)
    hands = host.get_by_role("region", name="Raised hands")
    await expect(hands.get_by_text("Ana", exact=True)).to_be_visible(timeout=5_000)
    await hands.get_by_role("button", name="Invite Ana to speak", exact=True).click()
    await expect(hands.get_by_text("Invited — waiting")).to_be_visible(timeout=5_000)

    # 3. Ana accepts and is on stage, muted until she unmutes; then her microphone is on.
    invitation = ana.get_by_role("dialog", name="Join the stage?")
    await expect(invitation).to_be_visible(timeout=5_000)
    await expect(invitation.get_by_text("Host Ada invited you to speak.")).to_be_visible()
    await invitation.get_by_role("button", name="Accept", exact=True).click()
    await expect(invitation).to_be_hidden(timeout=5_000)
    await expect(stage_entry(ana, "Ana").get_by_text("muted", exact=True)).to_be_visible(timeout=5_000)
    await ana.get_by_role("button", name="Unmute microphone", exact=True).click()
    accepted_at = time.monotonic()
    await expect(stage_entry(ana, "Ana").get_by_text("mic on", exact=True)).to_be_visible(timeout=5_000)
    await expect(ana.get_by_text("Live — you're on stage")).to_be_visible(timeout=5_000)

    # 4. Ben receives Ana on a second slot within 10 s of her unmuting.
    ana_mid, _ = await wait_for_stream(ben, other_than={host_mid}, above=50, deadline=accepted_at + 10)

    # 5. Ada mutes Ana from her actions menu; Ben sees it, and Ana's stream stops.
    await stage_entry(host, "Ana").get_by_role("button", name="Actions for Ana", exact=True).click()
    await host.get_by_role("menuitem", name="Mute Ana", exact=True).click()
    await expect(stage_entry(ben, "Ana").get_by_text("muted", exact=True)).to_be_visible(timeout=5_000)
    await expect(ana.get_by_text("A moderator muted you.")).to_be_visible(timeout=5_000)
    await asyncio.sleep(0.5)
    before = (await inbound_by_mid(ben)).get(ana_mid, 0)
    await asyncio.sleep(1.5)
    after = (await inbound_by_mid(ben)).get(ana_mid, 0)
    assert after - before <= 3, (
        f"Ana's slot (mid {ana_mid}) still received {after - before} packets in 1.5 s after the mute"
    )

    # 6. Ben leaves quietly.
    await ben.get_by_role("button", name="Leave quietly", exact=True).click()
    await expect(ben.get_by_text("You left the room.")).to_be_visible()
