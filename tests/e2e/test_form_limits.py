"""End to end: the title fields show how many characters are left, so a pasted title that the
field cuts at the server's limit (room and event titles 120, club names 80, descriptions and
club posts 2,000, topic proposals 200) doesn't go unseen."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from playwright.async_api import Locator, Page, expect

OpenPage = Callable[[], Awaitable[Page]]  # the `open_page` fixture (tests/e2e/conftest.py)

LONG = "x" * 5_000


async def fill_too_long(field: Locator, limit: int) -> None:
    """Fills `field` with far too much text: it keeps `limit` characters and says none are left."""
    await expect(field).to_have_attribute("maxlength", str(limit))
    await expect(field).to_have_accessible_description(f"{limit} characters left")
    await field.fill(LONG)
    await expect(field).to_have_value(LONG[:limit])
    await expect(field).to_have_accessible_description("0 characters left")


async def test_title_fields_count_the_characters_left(server, open_page: OpenPage) -> None:
    page = await open_page()
    await page.goto("/")
    await page.get_by_label("Your name", exact=True).fill("Host Ada")

    room = page.get_by_role("region", name="Start a room")
    title = room.get_by_label("Title", exact=True)
    await fill_too_long(title, 120)
    await expect(room.get_by_text("0 characters left", exact=True)).to_be_visible()
    await title.fill("Burning questions")
    await expect(title).to_have_accessible_description("103 characters left")
    await fill_too_long(room.get_by_label("Description (optional)", exact=True), 2000)

    club = page.get_by_role("region", name="Start a club")
    await fill_too_long(club.get_by_label("Club name", exact=True), 80)
    await fill_too_long(club.get_by_label("Club description (optional)", exact=True), 2000)
    await club.get_by_label("Club name", exact=True).fill("Learning Circle")
    await expect(club.get_by_text("65 characters left", exact=True)).to_be_visible()
    await club.get_by_role("button", name="Create club", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/clubs/[^/]+$"))

    schedule = page.get_by_role("region", name="Schedule a room")
    await fill_too_long(schedule.get_by_label("Title", exact=True), 120)
    await expect(schedule.get_by_text("0 characters left", exact=True)).to_be_visible()

    space = page.get_by_role("region", name="Club space")
    await fill_too_long(space.get_by_label("Write a post", exact=True), 2000)
    topics = page.get_by_role("region", name="Topics for coming rooms")
    await fill_too_long(topics.get_by_label("Propose a topic", exact=True), 200)
