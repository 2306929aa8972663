"""End to end: the backchannel. Two listeners chat while the host speaks, a shared link is a link,
reactions show by the stage, the host deletes a message, slows the chat down for listeners, turns
it off, and removes a listener with their messages, all through the page's buttons in headless
Chromium."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from support import go_live, join, packets_on

SLIDES = "Slides: https://example.org/deck?week=48."


def chat(page: Page):
    return page.get_by_role("list", name="Chat")


async def send(page: Page, text: str) -> None:
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_role("button", name="Send", exact=True).click()


async def test_two_listeners_chat_while_the_host_speaks_and_the_host_moderates(server, open_page) -> None:
    host = await open_page()
    room_url = await go_live(host)
    bo, cy = await open_page(), await open_page()
    for page, name in ((bo, "Listener Bo"), (cy, "Listener Cy")):
        await join(page, room_url, name)
        await expect(page.get_by_role("button", name="Raise hand", exact=True)).to_be_visible(timeout=10_000)

    await host.get_by_label("Slow mode for listeners", exact=True).select_option(label="One message every 30 s")
    await expect(cy.get_by_text("Slow mode: listeners may send one message every 30 s.")).to_be_visible(timeout=10_000)

    await send(bo, SLIDES)
    for page in (host, bo, cy):
        await expect(chat(page).get_by_text(SLIDES)).to_be_visible(timeout=10_000)
    link = chat(cy).get_by_role("link", name="https://example.org/deck?week=48", exact=True)
    assert await link.get_attribute("href") == "https://example.org/deck?week=48", "the full stop is not in the link"
    assert await link.get_attribute("target") == "_blank"
    assert "noopener" in (await link.get_attribute("rel") or "")
    await expect(bo.get_by_label("Message", exact=True)).to_have_value("")
    await send(cy, "Thanks, that deck is great")
    await expect(chat(bo).get_by_text("Thanks, that deck is great")).to_be_visible(timeout=10_000)
    await send(cy, "And another right away")  # slow mode: not for another 30 s
    await expect(cy.get_by_text(re.compile(r"you can post again in (30|29|28) s"))).to_be_visible(timeout=10_000)
    before = await packets_on(cy, 0, within_s=2)
    assert await packets_on(cy, before + 100, within_s=10) > before + 100, "the host's audio plays on beside the chat"
    await expect(chat(bo).get_by_text("And another right away")).to_have_count(0)
    await expect(chat(bo).get_by_role("listitem")).to_have_count(2)

    for page in (bo, cy, cy):
        await page.get_by_role("button", name="Applause", exact=True).click()
    await bo.get_by_role("button", name="Heart", exact=True).click()
    await expect(host.get_by_label("Reactions just now")).to_have_text("👏 3  ❤️ 1", timeout=10_000)
    await expect(host.get_by_label("Reactions just now")).to_have_text("", timeout=10_000)  # shown briefly

    await chat(host).get_by_role("button", name="Delete Listener Bo's message", exact=True).click()
    for page in (bo, cy):
        await expect(chat(page).get_by_text(SLIDES)).to_have_count(0, timeout=10_000)
    await expect(chat(cy).get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)  # not for listeners
    await expect(bo.get_by_role("button", name="Show earlier messages", exact=True)).to_be_hidden()

    await host.get_by_label("Chat on", exact=True).uncheck()
    await expect(bo.get_by_text("A moderator has turned the chat off.")).to_be_visible(timeout=10_000)
    await expect(bo.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    await send(host, "Chat is closed; the stage is open")
    await expect(chat(bo).get_by_text("Chat is closed; the stage is open")).to_be_visible(timeout=10_000)

    await host.get_by_role("region", name="Audience").get_by_role(
        "button", name="Actions for Listener Cy", exact=True).click()
    await host.get_by_role("menuitem", name="Remove Listener Cy from room", exact=True).click()
    removal = host.get_by_role("dialog", name="Remove Listener Cy?")
    await removal.get_by_label("Delete their chat messages too", exact=True).check()
    await removal.get_by_role("button", name="Remove", exact=True).click()
    await expect(chat(bo).get_by_text("Thanks, that deck is great")).to_have_count(0, timeout=10_000)
    await expect(chat(bo).get_by_text("Chat is closed; the stage is open")).to_be_visible()
