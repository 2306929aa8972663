"""End to end: "End room" sits in the host's own controls and asks first; Cancel keeps the room
live, and once it ends, "This room has ended." replaces a passing note such as "You're in the
audience now."."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from playwright.async_api import Page, expect
from test_stage_in_browser import join_from_hallway, stage_entry, start_room

OpenPage = Callable[[], Awaitable[Page]]  # the `open_page` fixture (tests/e2e/conftest.py)

MOVED_NOTE = "You're in the audience now."


async def test_ending_asks_first_and_replaces_the_last_note(server, open_page: OpenPage) -> None:
    host = await open_page()
    ana = await open_page()
    room_id = await start_room(host)
    await join_from_hallway(ana, "Ana", room_id)
    await expect(ana.get_by_role("button", name="Raise hand", exact=True)).to_be_visible(timeout=10_000)

    # Only the host has the controls, apart from "Leave quietly".
    controls = host.get_by_role("region", name="Host controls")
    end = controls.get_by_role("button", name="End room", exact=True)
    await expect(end).to_be_visible()
    await expect(controls.get_by_role("button", name="Leave quietly", exact=True)).to_have_count(0)
    await expect(ana.get_by_role("region", name="Host controls")).to_have_count(0)

    # Ada brings Ana on stage, then moves her back to the audience: Ana is told so.
    audience = host.get_by_role("region", name="Audience")
    await audience.get_by_role("button", name="Actions for Ana", exact=True).click(timeout=10_000)
    await host.get_by_role("menuitem", name="Invite Ana to speak", exact=True).click()
    await ana.get_by_role("dialog", name="Join the stage?").get_by_role("button", name="Accept", exact=True).click()
    await expect(stage_entry(host, "Ana")).to_be_visible(timeout=5_000)
    await stage_entry(host, "Ana").get_by_role("button", name="Actions for Ana", exact=True).click()
    await host.get_by_role("menuitem", name="Move Ana to audience", exact=True).click()
    await expect(ana.get_by_text(MOVED_NOTE, exact=True)).to_be_visible(timeout=5_000)

    # "End room" asks; Cancel (where the focus starts) leaves the room live.
    await end.click()
    confirm = host.get_by_role("dialog", name="End the room for everyone?")
    await expect(confirm).to_be_visible()
    await expect(confirm.get_by_role("button", name="Cancel", exact=True)).to_be_focused()
    await confirm.get_by_role("button", name="Cancel", exact=True).click()
    await expect(confirm).to_be_hidden()
    assert server.room(room_id)["status"] == "live"
    await expect(host.get_by_text("Live — you're on stage")).to_be_visible()
    await expect(ana.get_by_role("button", name="Raise hand", exact=True)).to_be_visible()

    # Confirming ends it for everyone; Ana's note gives way to the ending.
    await end.click()
    await confirm.get_by_role("button", name="End room for everyone", exact=True).click()
    await expect(host.get_by_text("This room has ended.", exact=True)).to_be_visible(timeout=5_000)
    await expect(ana.get_by_text("This room has ended.", exact=True)).to_be_visible(timeout=5_000)
    assert not await ana.get_by_text(MOVED_NOTE, exact=True).is_visible()  # not left to time out
    assert server.room(room_id)["status"] == "ended"
