"""End to end: a moderator sees how well each member is connected.

Ada hosts, Bo listens over loopback: within a few seconds Ada's audience row for Bo shows a
labelled connection badge (a healthy loopback is excellent or good), which opens into the
numbers for both directions. Bo, who is not a moderator, sees no badges.
"""

from __future__ import annotations

import re

from playwright.async_api import expect

from support import host_and_listener_pages

HEALTHY = re.compile(r"^connection (excellent|good)$")


async def test_moderator_sees_a_listeners_connection(open_page) -> None:
    host, listener = await open_page(), await open_page()
    await host_and_listener_pages(host, listener)

    row = host.get_by_role("region", name="Audience").get_by_role("listitem").filter(has_text="Listener Bo")
    badge = row.get_by_text(HEALTHY)
    await expect(badge).to_be_visible(timeout=15_000)
    await badge.click()
    await expect(row.get_by_text(re.compile(r"^Can they hear the room: (excellent|good) \(loss"))).to_be_visible()

    # Her own connection shows on her stage row; Bo, a listener, sees no badges at all.
    stage = host.get_by_role("region", name="Stage").get_by_role("listitem").filter(has_text="Host Ada")
    await expect(stage.get_by_text(re.compile(r"^connection "))).to_be_visible(timeout=15_000)
    await expect(listener.get_by_text(re.compile(r"^connection "))).to_have_count(0)
