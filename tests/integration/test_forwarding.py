"""The host's Opus reaches every listener through the forwarding core; a listener is never heard."""

from __future__ import annotations

import asyncio

import httpx

from signaling.participant import Participant, ToneTrack
from support import host_and_listener, hosted_room, wait_until


async def test_listeners_hear_the_host_and_not_each_other(server) -> None:
    room_id, host = hosted_room(server)
    listeners = [Participant(server.ws_url, server.identity(f"Listener {i}")) for i in range(3)]
    rogue = Participant(server.ws_url, server.identity("Rogue"))
    everyone = [host, *listeners, rogue]
    try:
        assert (await host.join(room_id)).you.role == "host"
        for listener in [*listeners, rogue]:
            assert (await listener.join(room_id)).you.role == "listener"
        await host.connect_media(ToneTrack(440))
        for listener in listeners:
            await listener.connect_media()
        await rogue.connect_media(ToneTrack(880))

        async def all_hear_host() -> bool:
            return all([await p.packets_received() > 10 for p in listeners])

        await wait_until(all_hear_host)
        sent_before = await host.packets_sent()
        received_before = [await p.packets_received() for p in listeners]
        await asyncio.sleep(5)
        sent = await host.packets_sent() - sent_before
        received = [await p.packets_received() - before for p, before in zip(listeners, received_before)]
        assert sent > 200, f"the host bot sent only {sent} packets in 5 s"
        for count in received:
            assert count >= 0.95 * sent, f"a listener got {count} of {sent} packets"

        # The node's figures agree: a forwarded packet goes to the three listeners and the rogue
        # (once each is connected).
        media = httpx.get(f"{server.base_url}/api/media").json()
        assert media["rooms"] == 1 and media["peers"] == 5
        assert media["forwarded"] >= sent and 4 * sent <= media["delivered"] <= 4 * media["forwarded"]
        assert media["forward_us"]["samples"] == min(media["forwarded"], 8192)
        assert 0 < media["forward_us"]["p50"] <= media["forward_us"]["p99"] <= media["forward_us"]["max"]
        assert media["forward_cpu_us"]["samples"] == media["forward_us"]["samples"]
        assert 0 < media["forward_cpu_us"]["p50"] <= media["forward_cpu_us"]["p99"] <= media["forward_cpu_us"]["max"]

        # The host goes quiet; the rogue listener keeps sending, and nobody hears a packet of it.
        host.replace_microphone(None)
        await asyncio.sleep(0.5)
        rogue_before = await rogue.packets_sent()
        heard_before = [await p.packets_received() for p in [host, *listeners]]
        await asyncio.sleep(2)
        assert await rogue.packets_sent() - rogue_before > 50, "the rogue bot did not send"
        assert [await p.packets_received() for p in [host, *listeners]] == heard_before
    finally:
        await asyncio.gather(*(p.close() for p in everyone), return_exceptions=True)


async def test_the_host_does_not_hear_themselves_and_latecomers_see_who_is_on_mic(server) -> None:
    room_id, host, listener = await host_and_listener(server)
    try:
        async def listener_hears() -> bool:
            return await listener.packets_received() > 50

        await wait_until(listener_hears)
        assert await host.packets_received() == 0

        latecomer = Participant(server.ws_url, server.identity("Latecomer"))
        welcome = await latecomer.join(room_id)
        await latecomer.close()
        assert [h.speaker.name if h.speaker else None for h in welcome.slot_holders] == ["Host", None, None]
    finally:
        await asyncio.gather(host.close(), listener.close(), return_exceptions=True)
