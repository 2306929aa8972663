"""Over HTTPS on this machine's own address (not loopback), with a self-signed certificate, as on
a LAN: the page is a secure context, so Chromium gives it the microphone, and the host is heard.
Over plain HTTP on the same address the browser gives no microphone at all, which is why a node
reached from other machines needs TLS. `--ignore-certificate-errors` is for this test only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from coturn import machine_address
from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, REMEMBER_PEER_CONNECTIONS
from playwright.async_api import Browser, Page, async_playwright

from support import host_and_listener_pages, self_signed_certificate, serving

SECURE = "window.isSecureContext && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)"


@pytest.fixture
async def trusting_browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, "--ignore-certificate-errors"]
        )
        yield browser
        await browser.close()


async def page_on(browser: Browser, base_url: str) -> Page:
    context = await browser.new_context(base_url=base_url)
    await context.add_init_script(REMEMBER_PEER_CONNECTIONS)
    return await context.new_page()


async def test_https_on_this_machines_address_gets_the_microphone_and_is_heard(
    redis_server, tmp_path: Path, trusting_browser: Browser
) -> None:
    address = machine_address()
    with serving(redis_server.url, tmp_path / "plain", host=address) as plain:
        page = await page_on(trusting_browser, plain.base_url)
        await page.goto("/")
        assert not await page.evaluate(SECURE), "plain HTTP off loopback has no microphone"

    cert, key = self_signed_certificate(tmp_path, address)
    with serving(redis_server.url, tmp_path / "tls", host=address,
                 DROPIN_TLS_CERT=str(cert), DROPIN_TLS_KEY=str(key)) as node:
        assert node.base_url == f"https://{address}:{node.base_url.rsplit(':', 1)[1]}"
        host, listener = await page_on(trusting_browser, node.base_url), await page_on(trusting_browser, node.base_url)
        await host.goto("/")
        assert await host.evaluate(SECURE)
        await host_and_listener_pages(host, listener)  # Ada goes live with her microphone; Bo hears her
        assert await host.evaluate("location.protocol") == "https:"
