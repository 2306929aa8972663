"""Browser fixtures for the end-to-end tests: headless Debian Chromium driven by Playwright.

The fake media flags give every page a microphone playing a beep. The only test hook is an
init script that remembers each RTCPeerConnection so getStats() can be read; the app itself
has none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]

REMEMBER_PEER_CONNECTIONS = """
window.__pcs = [];
window.RTCPeerConnection = class extends window.RTCPeerConnection {
  constructor(...args) {
    super(...args);
    window.__pcs.push(this);
  }
};
"""

OpenPage = Callable[[], Awaitable[Page]]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def open_page(server, browser: Browser) -> AsyncIterator[OpenPage]:
    """Opens a page in a fresh, isolated browser context (one person) on the test server."""
    contexts: list[BrowserContext] = []

    async def open_one() -> Page:
        context = await browser.new_context(base_url=server.base_url)
        contexts.append(context)
        await context.add_init_script(REMEMBER_PEER_CONNECTIONS)
        return await context.new_page()

    yield open_one
    for context in contexts:
        await context.close()
