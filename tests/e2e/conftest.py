"""Browser fixtures for the end-to-end tests: headless Debian Chromium driven by Playwright.

The fake media flags give every page a microphone playing a beep. The only test hook is an
init script that remembers each RTCPeerConnection so getStats() can be read; the app itself
has none.

For the tests through TURN: a real coturn (`coturn`), an impairing UDP relay in front of it
(`relay`, impaired as the `impairment` fixture says: not at all unless a module overrides it),
and a server whose members' TURN URL is that relay (`server_behind_relay`; a module whose pages
must use it overrides `server` with it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from coturn import Coturn, machine_address, running_coturn
from impair import ImpairingRelay, Impairment, impairing_relay, serving_with_turn
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from support import RunningServer

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


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    with running_coturn(tmp_path / "coturn") as turn:
        yield turn


@pytest.fixture
def impairment() -> Impairment | None:
    """What the relay does to the datagrams it forwards (None: nothing)."""
    return None


@pytest.fixture
def relay(coturn: Coturn, impairment: Impairment | None) -> Iterator[ImpairingRelay]:
    with impairing_relay(machine_address(), (coturn.address, coturn.port), impairment) as running:
        yield running


@pytest.fixture
def server_behind_relay(
    redis_server, tmp_path: Path, coturn: Coturn, relay: ImpairingRelay
) -> Iterator[RunningServer]:
    """A server whose members' TURN URL is the relay in front of coturn."""
    with serving_with_turn(redis_server.url, tmp_path, relay.urls("udp"), coturn.secret) as running:
        yield running
