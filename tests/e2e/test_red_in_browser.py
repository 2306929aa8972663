"""End to end: Opus in RED (RFC 2198) from a Chromium host, passed through to a Chromium listener
as RED and to an aiortc listener, which has no RED, as the plain Opus it decodes.

Chromium offers audio/red; the server answers it first on the microphone, so the host sends RED,
and after Opus on the slots, so the Chromium listener may receive it. The server's /api/media
counts what went out as RED and what was unwrapped to its primary block.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from signaling.participant import Participant
from support import go_live, join, packets_on

# The energy of the audio decoded on the page's open peer connections (0 for silence).
AUDIO_ENERGY = """
async () => {
  let energy = 0;
  for (const pc of window.__pcs.filter((pc) => pc.connectionState !== 'closed')) {
    (await pc.getStats()).forEach((stat) => {
      if (stat.type === 'inbound-rtp' && stat.kind === 'audio') energy += stat.totalAudioEnergy ?? 0;
    });
  }
  return energy;
}
"""


async def media_stats(api: httpx.AsyncClient, enough: int, within_s: float) -> dict:
    """GET /api/media, once both RED counts pass `enough` or `within_s` is up."""
    deadline = time.monotonic() + within_s
    while True:
        stats = (await api.get("/api/media")).raise_for_status().json()
        if min(stats["red_passed"], stats["red_unwrapped"]) > enough or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.25)


async def test_a_chromium_listener_gets_red_and_an_aiortc_listener_plain_opus(server, open_page) -> None:
    host, listener = await open_page(), await open_page()
    room_id = (await go_live(host)).rstrip("/").rsplit("/", 1)[-1]
    await join(listener, f"/rooms/{room_id}", "Listener Bo")
    bot = Participant(server.ws_url, server.identity("Listener Cy"))
    try:
        await bot.join(room_id)
        await bot.connect_media()
        assert await packets_on(listener, 100, within_s=10) > 100, "the Chromium listener hears the host"

        async with httpx.AsyncClient(base_url=server.base_url) as api:
            stats = await media_stats(api, enough=100, within_s=10)
        assert stats["red_passed"] > 100, f"the host sends RED and the Chromium listener gets it: {stats}"
        assert stats["red_unwrapped"] > 100, f"the aiortc listener gets the primary blocks: {stats}"
        assert stats["dropped_malformed_red"] == 0, stats

        before = sum(await bot.packets_per_slot())
        await asyncio.sleep(2)
        after = sum(await bot.packets_per_slot())
        assert after - before > 50, f"the aiortc listener receives Opus it decodes: {before} -> {after} packets"
        assert await listener.evaluate(AUDIO_ENERGY) > 0, "the Chromium listener decodes sound from RED"
    finally:
        await bot.leave()
