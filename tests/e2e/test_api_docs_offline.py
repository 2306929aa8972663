"""End to end: /docs (Swagger UI) and /redoc render the API in Chromium with every request that
leaves the server refused, as on a network with no way out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from playwright.async_api import Page, Route, expect

OpenPage = Callable[[], Awaitable[Page]]  # the `open_page` fixture (tests/e2e/conftest.py)


async def offline(page: Page, base_url: str) -> list[str]:
    """Abort every request not to the server; the list fills with the URLs that tried."""
    origin = urlsplit(base_url).netloc
    refused: list[str] = []

    async def only_the_server(route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).netloc == origin:
            await route.continue_()
        else:
            refused.append(url)
            await route.abort("internetdisconnected")

    await page.route("**/*", only_the_server)
    return refused


async def test_swagger_ui_renders_the_operations_offline(server, open_page: OpenPage) -> None:
    page = await open_page()
    refused = await offline(page, server.base_url)
    await page.goto("/docs")
    path = page.locator(".opblock-summary-path", has_text="/api/rooms").first
    await expect(path).to_be_visible(timeout=15_000)
    await expect(page.get_by_text("Open a room", exact=True).first).to_be_visible()
    assert refused == []


async def test_redoc_renders_the_operations_offline(server, open_page: OpenPage) -> None:
    page = await open_page()
    refused = await offline(page, server.base_url)
    await page.goto("/redoc")
    for summary in ("Open a room", "Accept an invite"):
        await expect(page.locator("h2", has_text=summary).first).to_be_visible(timeout=15_000)
    assert refused == []
