"""End to end: the "can't hear" helpers on the room page.

- A browser that blocks autoplay (no `--autoplay-policy` flag, and a join without a click)
  shows "Tap to hear the room"; tapping it starts the room's audio.
- The room volume sets the audio elements' volume and is remembered.
- The microphone list names the fake device, and picking another while on stage swaps the
  track on the same peer connection (no renegotiation) without the room losing the speaker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, REMEMBER_PEER_CONNECTIONS
from playwright.async_api import Browser, async_playwright, expect

from support import go_live, host_and_listener_pages, packets_on

# Joins as soon as the page has loaded, with no click: the browser then refuses to play sound.
# (Whatever Playwright runs in a page counts as a user gesture, so the join is not done from it.)
JOIN_ON_LOAD = """
addEventListener('load', () => {
  document.getElementById('name').value = 'Listener Bo';
  document.getElementById('join-form').requestSubmit();
});
"""
AUDIO_STATE = (
    "() => [...document.querySelectorAll('#remote-audio audio')].map((a) => ({paused: a.paused, volume: a.volume}))"
)
SENT_TRACK_LABEL = "() => window.__pcs.at(-1).getSenders()[0].track?.label ?? null"


@pytest.fixture
async def autoplay_blocking_browser() -> AsyncIterator[Browser]:
    """Chromium with its default autoplay policy: sound needs the person to interact first."""
    args = [arg for arg in CHROMIUM_ARGS if not arg.startswith("--autoplay-policy")]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield browser
        await browser.close()


async def test_tap_to_hear_starts_blocked_audio(server, open_page, autoplay_blocking_browser: Browser) -> None:
    host = await open_page()
    room_url = await go_live(host)
    context = await autoplay_blocking_browser.new_context(base_url=server.base_url)
    try:
        await context.add_init_script(REMEMBER_PEER_CONNECTIONS)
        await context.add_init_script(JOIN_ON_LOAD)
        listener = await context.new_page()
        await listener.goto(room_url)
        # Leave the listener's page untouched (Playwright's checks would count as gestures) until
        # Ada counts him and his audio has had time to start, or be refused.
        await expect(host.get_by_text("1 listening")).to_be_visible(timeout=10_000)
        await asyncio.sleep(2)
        tap = listener.get_by_role("button", name="Tap to hear the room", exact=True)
        await expect(tap).to_be_visible(timeout=10_000)
        assert all(audio["paused"] for audio in await listener.evaluate(AUDIO_STATE))

        await tap.click()
        await expect(tap).to_be_hidden()
        await listener.wait_for_function(
            "() => [...document.querySelectorAll('#remote-audio audio')].some((a) => !a.paused)", timeout=5_000
        )
        before = await packets_on(listener, 0, within_s=5)
        assert await packets_on(listener, before + 50, within_s=5) > before + 50, "the room's audio flows"
    finally:
        await context.close()


async def test_volume_and_microphone_choice(open_page) -> None:
    host, listener = await open_page(), await open_page()
    await host_and_listener_pages(host, listener)

    # Bo turns the room down; every audio element follows, and the page remembers it.
    volume = listener.get_by_label("Room volume", exact=True)
    await volume.fill("30")
    states = await listener.evaluate(AUDIO_STATE)
    assert states and all(abs(audio["volume"] - 0.3) < 1e-6 for audio in states), states

    # Ada's microphone list names the fake devices; she switches while on stage.
    choice = host.get_by_label("Microphone", exact=True)
    await expect(choice.locator("option", has_text="Fake")).not_to_have_count(0)
    labels = await choice.locator("option").all_inner_texts()
    sent = await host.evaluate(SENT_TRACK_LABEL)
    other = next(label for label in labels if "Fake" in label and label != sent)
    peer_connections = await host.evaluate("() => window.__pcs.length")
    await choice.select_option(label=other)
    await host.wait_for_function(f"() => ({SENT_TRACK_LABEL})() === {other!r}", timeout=5_000)
    assert await host.evaluate("() => window.__pcs.length") == peer_connections, "no new peer connection"
    await expect(host.get_by_text("Live — you're on stage")).to_be_visible()
    heard = await packets_on(listener, 0, within_s=5)
    assert await packets_on(listener, heard + 50, within_s=5) > heard + 50, "Bo still hears Ada"

    # Bo's volume is still his next time.
    await listener.reload()
    await expect(listener.get_by_label("Room volume", exact=True)).to_have_value("30")
